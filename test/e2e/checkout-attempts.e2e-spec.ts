import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { AppConfig } from '../../src/config';
import { ReconciliationService } from '../../src/payments/reconciliation.service';
import { createTestApp, type TestApp } from '../support/app';
import { truncateAll } from '../support/db';
import { placeOrder, type PlacedOrderBody } from '../support/factories';
import { orderRow, startCheckout, transitions } from '../support/payments';
import {
  clearSandboxFaults,
  payWithCard,
  sandboxStripe,
  setSandboxChaos,
  setSandboxFault,
  TEST_CARDS,
} from '../support/sandbox';
import { waitFor } from '../support/wait';

/**
 * Checkout attempts against the sandbox over HTTP, with its fault switches standing in for Stripe
 * failing: an answered error, no answer, a dropped answer, a slow creation. The sandbox behaves as
 * Stripe does under an idempotency key (answers replayed, errors included), so these prove the
 * rules, not a kinder stub.
 */
describe('Checkout attempts never strand the customer (sandbox)', () => {
  let t: TestApp;
  let sandbox: string;
  const stripe = () => sandboxStripe(sandbox);

  beforeAll(async () => {
    t = await createTestApp({ listen: true, env: { STRIPE_TIMEOUT_MS: '1500' } });
    sandbox = `http://127.0.0.1:${t.app.get(AppConfig).sandbox.port}`;
  });
  afterAll(() => t.close());
  beforeEach(async () => {
    await clearSandboxFaults(sandbox);
    await setSandboxChaos(sandbox, { duplicates: false, outOfOrder: false, delaySeconds: 0 });
    await truncateAll(t.orm);
  });

  const auth = (order: PlacedOrderBody) => ({ Authorization: `Bearer ${order.accessToken}` });
  const checkout = (order: PlacedOrderBody) =>
    request(t.http()).post(`/api/orders/${order.id}/checkout`).set(auth(order));
  const attempts = (orderId: string) =>
    t
      .em()
      .getConnection()
      .execute<{ id: string; attempt: number; status: string; session_id: string | null }[]>(
        'select id, attempt, status, session_id from payments where order_id = ? order by attempt',
        [orderId],
      );
  /** Stripe made the session but its answer is lost, and the SDK's retry gets no answer either. */
  const dropThenHang = async () => {
    await setSandboxFault(sandbox, {
      operation: 'checkout.sessions.create',
      fault: 'drop_response',
      count: 1,
    });
    await setSandboxFault(sandbox, { operation: 'checkout.sessions.create', fault: 'timeout', count: 1 });
  };
  /** Every session the sandbox holds for the order. */
  const sessionsAtStripe = async (orderId: string) =>
    (await stripe().checkout.sessions.list({ limit: 100 })).data.filter(
      (s) => s.client_reference_id === orderId,
    );

  it('an answered 500: 502 with a clear message, and the next click at once gets 201 with a new session', async () => {
    const order = await placeOrder(t);
    await setSandboxFault(sandbox, {
      operation: 'checkout.sessions.create',
      fault: 'status',
      status: 500,
      count: 1,
    });
    const failed = await checkout(order).expect(502);
    expect(failed.body).toMatchObject({
      code: 'PAYMENTS.PROVIDER_REFUSED',
      message: expect.stringMatching(/try again/),
    });
    expect(await attempts(order.id)).toMatchObject([{ attempt: 1, status: 'refused', session_id: null }]);

    const next = await checkout(order).expect(201);
    expect(await attempts(order.id)).toMatchObject([
      { attempt: 1, status: 'refused' },
      { attempt: 2, status: 'open', session_id: next.body.sessionId },
    ]);
    expect((await sessionsAtStripe(order.id)).map((s) => s.id)).toEqual([next.body.sessionId]);
  });

  it('a hang past the timeout: 502, and the retry gets the one session Stripe made', async () => {
    const order = await placeOrder(t);
    // Both the call and the SDK's own retry hang: the outcome is unknown.
    await setSandboxFault(sandbox, { operation: 'checkout.sessions.create', fault: 'timeout', count: 2 });
    expect((await checkout(order).expect(502)).body).toMatchObject({ code: 'PAYMENTS.PROVIDER_UNAVAILABLE' });
    expect(await attempts(order.id)).toMatchObject([{ attempt: 1, status: 'creating' }]);

    const retried = await checkout(order).expect(201);
    expect((await sessionsAtStripe(order.id)).map((s) => s.id)).toEqual([retried.body.sessionId]);
    expect(await attempts(order.id)).toMatchObject([
      { attempt: 1, status: 'open', session_id: retried.body.sessionId },
    ]);
  });

  it("a dropped answer is recovered by the SDK's own retry under the same key: one session, no error", async () => {
    const order = await placeOrder(t);
    await setSandboxFault(sandbox, {
      operation: 'checkout.sessions.create',
      fault: 'drop_response',
      count: 1,
    });
    const answered = await checkout(order).expect(201);
    expect((await sessionsAtStripe(order.id)).map((s) => s.id)).toEqual([answered.body.sessionId]);
  });

  it('a dropped answer whose retry hangs too: 502, and the next click gets the session Stripe made', async () => {
    const order = await placeOrder(t);
    await dropThenHang();
    await checkout(order).expect(502);
    const made = await sessionsAtStripe(order.id);
    expect(made).toHaveLength(1);

    const retried = await checkout(order).expect(201);
    expect(retried.body.sessionId).toBe(made[0].id);
    expect(await sessionsAtStripe(order.id)).toHaveLength(1);
  });

  it('cancel during a slow creation: no session URL is handed out, and that session is expired at Stripe', async () => {
    const order = await placeOrder(t);
    await setSandboxFault(sandbox, {
      operation: 'checkout.sessions.create',
      fault: 'slow',
      seconds: 1,
      count: 1,
    });
    const pending = checkout(order).then((response) => response);
    await waitFor(async () => (await attempts(order.id)).length === 1, 'the attempt to be recorded');
    await request(t.http()).post(`/api/orders/${order.id}/cancel`).set(auth(order)).expect(200);

    const answer = await pending;
    expect(answer.status).toBe(409);
    expect(answer.body.url).toBeUndefined();
    expect(answer.body).toMatchObject({ code: 'ORDERS.NOT_PAYABLE' });
    const [made] = await sessionsAtStripe(order.id);
    expect(made.status).toBe('expired');
    expect(await orderRow(t, order.id)).toMatchObject({ status: 'canceled' });
  });

  it('a new attempt first closes the previous session; the order never shows a failure for it', async () => {
    const order = await placeOrder(t);
    const first = await startCheckout(t, order);
    // The first attempt is about to expire (a minute left): the next click opens another.
    await t.em().getConnection().execute(`update payments set expires_at = now() + interval '30 seconds'`);
    const second = await startCheckout(t, order);
    expect(second.sessionId).not.toBe(first.sessionId);
    expect((await stripe().checkout.sessions.retrieve(first.sessionId)).status).toBe('expired');
    expect(await attempts(order.id)).toMatchObject([
      { attempt: 1, status: 'expired' },
      { attempt: 2, status: 'open' },
    ]);
    expect(await orderRow(t, order.id)).toMatchObject({ status: 'pending' });
    expect(await transitions(t, order.id)).toEqual(['∅→pending']);
  });

  it('…and if the previous session was paid meanwhile, the order is paid and no new session opens', async () => {
    const order = await placeOrder(t);
    const first = await startCheckout(t, order);
    await setSandboxChaos(sandbox, { delaySeconds: 600 }); // its webhook is late
    expect((await payWithCard(first.url, { number: TEST_CARDS.success })).status).toBe(303);
    await t.em().getConnection().execute(`update payments set expires_at = now() + interval '30 seconds'`);

    expect((await checkout(order).expect(409)).body).toMatchObject({ code: 'ORDERS.NOT_PAYABLE' });
    expect(await orderRow(t, order.id)).toMatchObject({ status: 'paid' });
    expect(await sessionsAtStripe(order.id)).toHaveLength(1);
  });

  it('an old session completing while a newer one is open: paid, the newer one expired, no second payment', async () => {
    const order = await placeOrder(t);
    const first = await startCheckout(t, order);
    // A second open attempt, as an earlier version of the service could leave one.
    const attemptId = randomUUID();
    const newer = await stripe().checkout.sessions.create({
      mode: 'payment',
      line_items: [
        {
          price_data: { currency: 'usd', unit_amount: order.totalAmount, product_data: { name: 'Order' } },
          quantity: 1,
        },
      ],
      success_url: 'http://localhost/success',
      client_reference_id: order.id,
      metadata: { orderId: order.id, attemptId },
      payment_intent_data: { metadata: { orderId: order.id, attemptId } },
    });
    await t
      .em()
      .getConnection()
      .execute(
        `insert into payments (id, order_id, attempt, status, amount, currency, expires_at, session_id, url, created_at, updated_at, next_check_at)
         values (?, ?, 2, 'open', ?, 'usd', to_timestamp(?), ?, ?, now(), now(), now() + interval '1 hour')`,
        [attemptId, order.id, order.totalAmount, newer.expires_at, newer.id, newer.url],
      );

    expect((await payWithCard(first.url, { number: TEST_CARDS.success })).status).toBe(303);
    await waitFor(async () => (await orderRow(t, order.id)).status === 'paid', 'the order to be paid');
    await waitFor(
      async () => (await stripe().checkout.sessions.retrieve(newer.id)).status === 'expired',
      'the newer session to be expired at Stripe',
    );
    const second = await payWithCard(newer.url!, { number: TEST_CARDS.success });
    expect(second.status).not.toBe(303);
    expect((await stripe().checkout.sessions.retrieve(newer.id)).payment_status).toBe('unpaid');
    expect(await transitions(t, order.id)).toEqual(['∅→pending', 'pending→paid']);
  });

  describe('reconciliation', () => {
    const reconcile = () => t.app.get(ReconciliationService).runOnce();
    const due = (orderId: string) =>
      t
        .em()
        .getConnection()
        .execute(`update payments set next_check_at = now() - interval '1 second' where order_id = ?`, [
          orderId,
        ]);
    const checkState = async (orderId: string) => {
      const [row] = await t
        .em()
        .getConnection()
        .execute<{ status: string; checks: number; wait_minutes: number | null }[]>(
          `select status, checks, round(extract(epoch from (next_check_at - now())) / 60) as wait_minutes
           from payments where order_id = ?`,
          [orderId],
        );
      return { ...row, wait_minutes: row.wait_minutes === null ? null : Number(row.wait_minutes) };
    };

    it('finishes an attempt a crash left creating, with the same key: the one session Stripe made', async () => {
      const order = await placeOrder(t);
      await dropThenHang();
      await checkout(order).expect(502);
      expect(await checkState(order.id)).toMatchObject({ status: 'creating' });
      await due(order.id);

      expect(await reconcile()).toMatchObject({ checked: 1, applied: 1, failed: 0 });
      const made = await sessionsAtStripe(order.id);
      expect(made).toHaveLength(1);
      expect(await attempts(order.id)).toMatchObject([{ status: 'open', session_id: made[0].id }]);
    });

    it('backs off: 15 min, 1 h, 6 h, then daily', async () => {
      const order = await placeOrder(t);
      await startCheckout(t, order);
      const waits: (number | null)[] = [];
      for (let i = 0; i < 4; i++) {
        await due(order.id);
        expect(await reconcile()).toMatchObject({ checked: 1, failed: 0 });
        waits.push((await checkState(order.id)).wait_minutes);
      }
      expect(waits).toEqual([15, 60, 360, 1440]);
      expect(await checkState(order.id)).toMatchObject({ status: 'open', checks: 4 });
      expect(await reconcile()).toMatchObject({ checked: 0 }); // not due: asked nothing
    });

    it('stops at needs_review: an attempt whose report did not match is never asked about again', async () => {
      const order = await placeOrder(t);
      const { sessionId } = await startCheckout(t, order);
      await t
        .em()
        .getConnection()
        .execute(`update payments set amount = amount + 1 where order_id = ?`, [order.id]);
      expect(
        (
          await payWithCard((await stripe().checkout.sessions.retrieve(sessionId)).url!, {
            number: TEST_CARDS.success,
          })
        ).status,
      ).toBe(303);
      await waitFor(
        async () => (await checkState(order.id)).status === 'needs_review',
        'the mismatch to be flagged',
      );
      await due(order.id);
      expect(await reconcile()).toMatchObject({ checked: 0 });
      expect(await orderRow(t, order.id)).toMatchObject({ status: 'pending', needs_review: true });
    });

    it('expires the open session of an order that stopped being payable, should the expiry after cancel be lost', async () => {
      const order = await placeOrder(t);
      const { sessionId } = await startCheckout(t, order);
      await setSandboxFault(sandbox, {
        operation: 'checkout.sessions.expire',
        fault: 'status',
        status: 500,
        count: 1,
      });
      await request(t.http()).post(`/api/orders/${order.id}/cancel`).set(auth(order)).expect(200);
      expect((await stripe().checkout.sessions.retrieve(sessionId)).status).toBe('open');

      await due(order.id);
      await reconcile();
      expect((await stripe().checkout.sessions.retrieve(sessionId)).status).toBe('expired');
      expect(await attempts(order.id)).toMatchObject([{ status: 'expired' }]);
      expect(await orderRow(t, order.id)).toMatchObject({ status: 'canceled' });
    });
  });
});
