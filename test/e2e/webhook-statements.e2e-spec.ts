import { randomUUID } from 'node:crypto';
import { Client } from 'pg';
import request from 'supertest';
import { OrderPaidEvent } from '../../src/orders';
import { OutboxRegistry } from '../../src/shared/outbox';
import { createTestApp, type TestApp } from '../support/app';
import { truncateAll } from '../support/db';
import { placeOrder, type PlacedOrderBody } from '../support/factories';
import {
  deliver,
  historyRows,
  ledgerRow,
  orderRow,
  startCheckout,
  stubStripeEnv,
  transitions,
} from '../support/payments';
import { type EventOptions, newEventId, stripeEvent } from '../support/stripe-events';
import { StripeStub } from '../support/stripe-stub';
import { waitFor } from '../support/wait';

interface AttemptRow {
  id: string;
  attempt: number;
  status: string;
  session_id: string | null;
  payment_intent_id: string | null;
  close_requested_at: Date | null;
}

/**
 * Reports about a Checkout Session take the webhook's explicit statements (ledger claim with the
 * order and its attempts locked; then every write with the commit). The cases their SQL must get
 * right beyond the event table of stripe-webhook.e2e-spec.ts: attempts found by their tag, reports
 * racing each other or a new attempt, canceled orders, and the outbox rows every durable
 * subscriber gets.
 */
describe('Webhook: session reports through explicit statements', () => {
  let t: TestApp;
  const stub = new StripeStub();
  /** Orders a test-only durable subscriber to `orders.paid` was told about, with their delivery. */
  const paidSeen: { orderId: string; eventId: string }[] = [];

  beforeAll(async () => {
    await stub.start();
    t = await createTestApp({ env: stubStripeEnv(stub) });
    // Registered like any module's `@OnDurableEvent`: the webhook path must write its row too.
    t.app.get(OutboxRegistry).subscribe(OrderPaidEvent, 'test.paid-webhook', (event, delivery) => {
      paidSeen.push({ orderId: event.orderId, eventId: delivery.eventId });
    });
  });
  afterAll(async () => {
    await t.close();
    await stub.stop();
  });
  beforeEach(async () => {
    stub.reset();
    paidSeen.length = 0;
    await truncateAll(t.orm);
  });

  const sql = <R extends object>(text: string, values: unknown[] = []) =>
    t.em().getConnection().execute<R[]>(text, values);
  const attempts = (orderId: string) =>
    sql<AttemptRow>(
      `select id, attempt, status, session_id, payment_intent_id, close_requested_at
         from payments where order_id = ? order by attempt`,
      [orderId],
    );
  const reviews = (orderId: string) =>
    sql<{ kind: string; source_ref: string | null }>(
      'select kind, source_ref from review_items where order_id = ? order by created_at',
      [orderId],
    );
  const about = (order: PlacedOrderBody, sessionId: string, extra: Partial<EventOptions> = {}) => ({
    orderId: order.id,
    sessionId,
    amount: order.totalAmount,
    ...extra,
  });
  const paid = (o: EventOptions) => stripeEvent('checkout.session.completed.paid', o);
  const eventIdOf = (body: string) => (JSON.parse(body) as { id: string }).id;
  const outcomeOf = (answer: { body: unknown }) => (answer.body as { outcome: string }).outcome;

  it('an attempt whose creation answer was lost is found by its tag: the session is linked, the order paid', async () => {
    const order = await placeOrder(t);
    // Stripe makes the session, and both answers (the call and the SDK's retry) are lost.
    stub.dropNext();
    stub.dropNext();
    await startCheckout(t, order, 502);
    const [attempt] = await attempts(order.id);
    expect(attempt).toMatchObject({ status: 'creating', session_id: null });
    const [{ id: sessionId }] = [...stub.sessions.values()];
    const body = paid(about(order, sessionId, { attemptId: attempt.id, paymentIntentId: 'pi_tagged' }));
    expect((await deliver(t, body).expect(200)).body).toEqual({ received: true, outcome: 'applied' });
    expect(await attempts(order.id)).toEqual([
      expect.objectContaining({ status: 'succeeded', session_id: sessionId, payment_intent_id: 'pi_tagged' }),
    ]);
    expect(await transitions(t, order.id)).toEqual(['∅→pending', 'pending→paid']);
  });

  it('another session tagged with one of our attempts: a foreign-session review item, the attempt untouched', async () => {
    const order = await placeOrder(t);
    const { sessionId } = await startCheckout(t, order);
    const [attempt] = await attempts(order.id);
    const body = paid(about(order, 'cs_test_someone_else', { attemptId: attempt.id }));
    expect((await deliver(t, body).expect(200)).body).toEqual({ received: true, outcome: 'mismatch' });
    expect(await attempts(order.id)).toEqual([
      expect.objectContaining({ status: 'open', session_id: sessionId, payment_intent_id: null }),
    ]);
    expect(await reviews(order.id)).toEqual([{ kind: 'foreign_session', source_ref: eventIdOf(body) }]);
    expect(await orderRow(t, order.id)).toMatchObject({ status: 'pending', needs_review: true });
    expect(await ledgerRow(t, eventIdOf(body))).toMatchObject({ outcome: 'mismatch', order_id: order.id });
  });

  it('a report tagged with an attempt id that is not a UUID, about an unknown session: unmatched, nothing else', async () => {
    const order = await placeOrder(t);
    await startCheckout(t, order);
    const body = paid(about(order, 'cs_test_unknown', { attemptId: "1' or '1'='1" }));
    expect((await deliver(t, body).expect(200)).body).toEqual({ received: true, outcome: 'unmatched' });
    expect(await ledgerRow(t, eventIdOf(body))).toMatchObject({ outcome: 'unmatched', order_id: null });
    expect(await attempts(order.id)).toEqual([expect.objectContaining({ status: 'open' })]);
    expect(await orderRow(t, order.id)).toMatchObject({ status: 'pending', needs_review: false });
  });

  it('paid after the order was canceled: the money is recorded, the order stays canceled and goes to review', async () => {
    const order = await placeOrder(t);
    const { sessionId } = await startCheckout(t, order);
    await request(t.http())
      .post(`/api/orders/${order.id}/cancel`)
      .set('Authorization', `Bearer ${order.accessToken}`)
      .expect(200);
    const body = paid(about(order, sessionId));
    expect((await deliver(t, body).expect(200)).body).toEqual({ received: true, outcome: 'applied' });
    expect(await attempts(order.id)).toEqual([expect.objectContaining({ status: 'succeeded' })]);
    expect(await orderRow(t, order.id)).toMatchObject({ status: 'canceled', needs_review: true });
    expect(await reviews(order.id)).toEqual([{ kind: 'paid_after_cancel', source_ref: eventIdOf(body) }]);
    expect(await transitions(t, order.id)).toEqual(['∅→pending', 'pending→canceled']);
    const notes = (await historyRows(t, order.id)).filter((row) => row.source_ref === eventIdOf(body));
    expect(notes.map((row) => [row.from_status, row.to_status])).toEqual([
      ['canceled', 'canceled'],
      ['canceled', 'canceled'],
    ]);
    expect(notes.every((row) => row.reason.startsWith('Flagged for review'))).toBe(true);
    // Not paid: nobody is told it was.
    expect(paidSeen).toEqual([]);
  });

  it('two sessions of one order paid at once: the order paid once, the second payment to review', async () => {
    const order = await placeOrder(t);
    const first = await startCheckout(t, order);
    await deliver(t, stripeEvent('checkout.session.expired', about(order, first.sessionId))).expect(200);
    const second = await startCheckout(t, order);
    expect(second.sessionId).not.toBe(first.sessionId);
    const bodies = [
      paid(about(order, first.sessionId, { paymentIntentId: 'pi_first' })),
      paid(about(order, second.sessionId, { paymentIntentId: 'pi_second' })),
    ];
    const answers = await Promise.all(bodies.map((body) => deliver(t, body)));
    expect(answers.map((answer) => [answer.status, outcomeOf(answer)])).toEqual([
      [200, 'applied'],
      [200, 'applied'],
    ]);
    expect((await attempts(order.id)).map((row) => row.status)).toEqual(['succeeded', 'succeeded']);
    expect(await transitions(t, order.id)).toEqual([
      '∅→pending',
      'pending→failed',
      'failed→pending',
      'pending→paid',
    ]);
    expect((await reviews(order.id)).map((row) => row.kind)).toEqual(['paid_twice']);
    expect(await orderRow(t, order.id)).toMatchObject({ status: 'paid', needs_review: true });
    for (const body of bodies) {
      expect(await ledgerRow(t, eventIdOf(body))).toMatchObject({ outcome: 'applied', deliveries: 1 });
    }
    await waitFor(() => paidSeen.length === 1, 'the paid order delivered to the test subscriber');
  });

  it('the same report delivered concurrently with a different one about the order: each applied once, in some order', async () => {
    const order = await placeOrder(t);
    const { sessionId } = await startCheckout(t, order);
    const completed = paid(about(order, sessionId, { paymentIntentId: 'pi_race' }));
    const expired = stripeEvent('checkout.session.expired', about(order, sessionId));
    const answers = await Promise.all([
      deliver(t, completed),
      deliver(t, expired),
      deliver(t, completed),
      deliver(t, expired),
    ]);
    expect(answers.every((answer) => answer.status === 200)).toBe(true);
    // Whatever came first, money wins: paid, once.
    expect(await orderRow(t, order.id)).toMatchObject({ status: 'paid' });
    expect((await transitions(t, order.id)).filter((step) => step.endsWith('→paid'))).toHaveLength(1);
    expect(await ledgerRow(t, eventIdOf(completed))).toMatchObject({ outcome: 'applied', deliveries: 2 });
    expect(await ledgerRow(t, eventIdOf(expired))).toMatchObject({ deliveries: 2 });
    expect(answers.map(outcomeOf).filter((outcome) => outcome === 'duplicate')).toHaveLength(2);
  });

  it('an attempt committed while the report waited for the order: decided again, and that attempt closed', async () => {
    const order = await placeOrder(t);
    const first = await startCheckout(t, order);
    await deliver(t, stripeEvent('checkout.session.expired', about(order, first.sessionId))).expect(200);
    const [expiredAttempt] = await attempts(order.id);
    expect(expiredAttempt.status).toBe('expired');

    // A checkout in another transaction: the order locked, a second attempt recorded, not committed.
    const checkout = new Client({ connectionString: process.env.DATABASE_URL });
    await checkout.connect();
    const secondId = randomUUID();
    try {
      const checkoutPid = (await checkout.query<{ pid: number }>('select pg_backend_pid() as pid')).rows[0]
        .pid;
      await checkout.query('begin');
      await checkout.query('select id from orders where id = $1 for update', [order.id]);
      await checkout.query(
        `insert into payments (id, order_id, attempt, status, amount, currency, expires_at, session_id,
                               created_at, updated_at, checks)
         values ($1, $2, 2, 'open', $3, 'usd', now() + interval '1 hour', 'cs_test_second_attempt', now(), now(), 0)`,
        [secondId, order.id, order.totalAmount],
      );
      // The late success of the first session: its statement starts, and waits for the order's lock.
      const body = paid(about(order, first.sessionId, { paymentIntentId: 'pi_late' }));
      const answer = deliver(t, body).then((response) => response);
      // Asked on another connection: inside a transaction, pg_stat_activity is a snapshot.
      await waitFor(
        async () =>
          (
            await sql<{ count: string }>(
              `select count(*) from pg_stat_activity
                where ? = any(pg_blocking_pids(pid))`,
              [checkoutPid],
            )
          )[0].count === '1',
        'the report to wait for the order lock',
      );
      await checkout.query('commit');
      expect((await answer).body).toEqual({ received: true, outcome: 'applied' });

      // The first statement could not see the new attempt; the write statement noticed, gave the
      // claim back, and the report was decided again with both attempts.
      const rows = await attempts(order.id);
      expect(rows.map((row) => [row.attempt, row.status])).toEqual([
        [1, 'succeeded'],
        [2, 'open'],
      ]);
      expect(rows[1].close_requested_at).not.toBeNull();
      expect(await orderRow(t, order.id)).toMatchObject({ status: 'paid' });
      expect(await ledgerRow(t, eventIdOf(body))).toMatchObject({ outcome: 'applied', deliveries: 1 });
      const closes = await sql<{ payload: { paymentId: string } }>(
        `select e.payload from outbox_events e join outbox_deliveries d on d.event_id = e.id
          where d.subscriber = 'payments.close-session'`,
      );
      expect(closes.map((row) => row.payload.paymentId)).toEqual([secondId]);
    } finally {
      await checkout.end();
    }
  });

  it('every durable subscriber gets its delivery row, in the transaction of the payment', async () => {
    const order = await placeOrder(t);
    const { sessionId } = await startCheckout(t, order);
    await deliver(t, paid(about(order, sessionId))).expect(200);
    // What the payment raised: the order paid, and its status changed to paid.
    const rows = await sql<{ name: string; subscriber: string }>(
      `select e.name, d.subscriber from outbox_deliveries d join outbox_events e on e.id = d.event_id
        where e.payload->>'orderId' = ?
          and (e.name = 'orders.paid' or (e.name = 'orders.status_changed' and e.payload->>'status' = 'paid'))
        order by e.name, d.subscriber`,
      [order.id],
    );
    const registry = t.app.get(OutboxRegistry);
    const expected = ['orders.paid', 'orders.status_changed'].flatMap((name) =>
      registry
        .subscribersOf(name)
        .map((subscriber) => ({ name, subscriber: subscriber.name }))
        .sort((a, b) => a.subscriber.localeCompare(b.subscriber)),
    );
    expect(expected).toContainEqual({ name: 'orders.paid', subscriber: 'test.paid-webhook' });
    // Exactly one row per subscriber of each event.
    expect(rows.filter((row) => row.name === 'orders.paid')).toEqual(
      expected.filter((row) => row.name === 'orders.paid'),
    );
    expect(rows.filter((row) => row.name === 'orders.status_changed')).toEqual(
      expected.filter((row) => row.name === 'orders.status_changed'),
    );
    const [seen] = await waitFor(() => paidSeen.length > 0 && paidSeen, 'the test subscriber to run');
    expect(seen.orderId).toBe(order.id);
  });

  it('a type we do not act on: one ledger row, ignored, and later deliveries counted as duplicates', async () => {
    const order = await placeOrder(t);
    const { sessionId } = await startCheckout(t, order);
    const eventId = newEventId();
    const body = paid(about(order, sessionId, { eventId, type: 'charge.succeeded' }));
    expect((await deliver(t, body).expect(200)).body).toEqual({ received: true, outcome: 'ignored' });
    expect((await deliver(t, body).expect(200)).body).toEqual({ received: true, outcome: 'duplicate' });
    expect(await ledgerRow(t, eventId)).toMatchObject({
      type: 'charge.succeeded',
      outcome: 'ignored',
      detail: 'charge.succeeded is not acted on',
      deliveries: 2,
    });
    expect(await orderRow(t, order.id)).toMatchObject({ status: 'pending' });
  });
});
