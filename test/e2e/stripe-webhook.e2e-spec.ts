import { createTestApp, type TestApp } from '../support/app';
import { countRows, truncateAll } from '../support/db';
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
import { newEventId, stripeEvent, type EventOptions } from '../support/stripe-events';
import { ROTATED_SECRET, signWithHmac, signWithStripe, WEBHOOK_SECRET } from '../support/stripe-signature';
import { StripeStub } from '../support/stripe-stub';

describe('POST /api/webhooks/stripe', () => {
  let t: TestApp;
  const stub = new StripeStub();

  beforeAll(async () => {
    await stub.start();
    t = await createTestApp({ env: stubStripeEnv(stub) });
  });
  afterAll(async () => {
    await t.close();
    await stub.stop();
  });
  beforeEach(async () => {
    stub.reset();
    await truncateAll(t.orm);
  });

  /** A placed order with an open Checkout Session, and event bodies about it. */
  async function orderInCheckout() {
    const order = await placeOrder(t);
    const { sessionId } = await startCheckout(t, order);
    const about = (extra: Partial<EventOptions> = {}): EventOptions => ({
      orderId: order.id,
      sessionId,
      amount: order.totalAmount,
      ...extra,
    });
    return { order, sessionId, about };
  }

  const paid = (o: EventOptions) => stripeEvent('checkout.session.completed.paid', o);
  const unpaid = (o: EventOptions) => stripeEvent('checkout.session.completed.unpaid', o);
  const asyncSucceeded = (o: EventOptions) =>
    stripeEvent('checkout.session.completed.unpaid', {
      ...o,
      type: 'checkout.session.async_payment_succeeded',
      paymentStatus: 'paid',
    });
  const asyncFailed = (o: EventOptions) =>
    stripeEvent('checkout.session.completed.unpaid', { ...o, type: 'checkout.session.async_payment_failed' });
  const expired = (o: EventOptions) => stripeEvent('checkout.session.expired', o);
  const declined = (o: EventOptions) => stripeEvent('payment_intent.payment_failed', o);

  async function deliverOk(body: string, expectedOutcome?: string) {
    const response = await deliver(t, body);
    expect(response.status).toBe(200);
    if (expectedOutcome) expect(response.body).toEqual({ received: true, outcome: expectedOutcome });
    return response;
  }

  const eventIdOf = (body: string) => (JSON.parse(body) as { id: string }).id;

  describe('the event table', () => {
    it('completed + paid: the order is paid, with the event as the source of the transition', async () => {
      const { order, about } = await orderInCheckout();
      const body = paid(about());
      await deliverOk(body, 'applied');

      expect(await orderRow(t, order.id)).toMatchObject({ status: 'paid', needs_review: false });
      const last = (await historyRows(t, order.id)).at(-1);
      expect(last).toMatchObject({
        from_status: 'pending',
        to_status: 'paid',
        source_kind: 'webhook',
        source_ref: eventIdOf(body),
      });
      expect(await ledgerRow(t, eventIdOf(body))).toMatchObject({
        type: 'checkout.session.completed',
        outcome: 'applied',
        order_id: order.id,
        deliveries: 1,
      });
    });

    it('completed + unpaid, then async succeeded: processing, then paid', async () => {
      const { order, about } = await orderInCheckout();
      await deliverOk(unpaid(about()), 'applied');
      expect(await orderRow(t, order.id)).toMatchObject({ status: 'processing' });
      await deliverOk(asyncSucceeded(about()), 'applied');
      expect(await orderRow(t, order.id)).toMatchObject({ status: 'paid' });
      expect(await transitions(t, order.id)).toEqual(['∅→pending', 'pending→processing', 'processing→paid']);
    });

    it('completed + unpaid, then async failed: processing, then failed with the reason', async () => {
      const { order, about } = await orderInCheckout();
      await deliverOk(unpaid(about()));
      await deliverOk(asyncFailed(about()), 'applied');
      expect(await orderRow(t, order.id)).toMatchObject({
        status: 'failed',
        status_reason: 'Your bank payment failed.',
      });
      expect(await transitions(t, order.id)).toEqual([
        '∅→pending',
        'pending→processing',
        'processing→failed',
      ]);
    });

    it('a decline, then success on the same session: failed with the decline message, then paid', async () => {
      const { order, about } = await orderInCheckout();
      await deliverOk(declined(about()), 'applied');
      expect(await orderRow(t, order.id)).toMatchObject({
        status: 'failed',
        status_reason: 'Your card was declined.',
      });

      await deliverOk(paid(about()), 'applied');
      expect(await orderRow(t, order.id)).toMatchObject({ status: 'paid', status_reason: null });
      expect(await transitions(t, order.id)).toEqual(['∅→pending', 'pending→failed', 'failed→paid']);
    });

    it('a second, different decline replaces the message the customer sees', async () => {
      const { order, about } = await orderInCheckout();
      await deliverOk(declined(about()));
      await deliverOk(
        declined(
          about({
            decline: {
              code: 'card_declined',
              declineCode: 'insufficient_funds',
              message: 'Your card has insufficient funds.',
            },
          }),
        ),
      );
      expect(await orderRow(t, order.id)).toMatchObject({
        status: 'failed',
        status_reason: 'Your card has insufficient funds.',
      });
    });

    it('expired: failed, reason "Checkout expired"', async () => {
      const { order, about } = await orderInCheckout();
      await deliverOk(expired(about()), 'applied');
      expect(await orderRow(t, order.id)).toMatchObject({
        status: 'failed',
        status_reason: 'Checkout expired',
      });
    });

    it('expired after paid: stays paid, the late news written in the history', async () => {
      const { order, about } = await orderInCheckout();
      await deliverOk(paid(about()));
      const late = expired(about());
      await deliverOk(late, 'ignored');
      expect(await orderRow(t, order.id)).toMatchObject({ status: 'paid' });
      expect((await historyRows(t, order.id)).at(-1)).toMatchObject({
        from_status: 'paid',
        to_status: 'paid',
        source_ref: eventIdOf(late),
        reason: expect.stringContaining('Checkout expired'),
      });
    });

    it('a decline delivered after the payment it preceded: stays paid, recorded', async () => {
      const { order, about } = await orderInCheckout();
      await deliverOk(paid(about({ paymentIntentId: 'pi_test_same' })));
      await deliverOk(declined(about({ paymentIntentId: 'pi_test_same' })), 'ignored');
      expect(await orderRow(t, order.id)).toMatchObject({ status: 'paid' });
      expect((await historyRows(t, order.id)).at(-1)?.reason).toContain('Your card was declined.');
    });

    it('async failed, then a late completed + unpaid for the same session: stays failed', async () => {
      const { order, about } = await orderInCheckout();
      await deliverOk(asyncFailed(about()), 'applied');
      await deliverOk(unpaid(about()), 'ignored');
      expect(await orderRow(t, order.id)).toMatchObject({ status: 'failed' });
    });

    it('async succeeded before completed + unpaid (out of order): paid, and the late news changes nothing', async () => {
      const { order, about } = await orderInCheckout();
      await deliverOk(asyncSucceeded(about()), 'applied');
      await deliverOk(unpaid(about()), 'ignored');
      expect(await orderRow(t, order.id)).toMatchObject({ status: 'paid' });
      expect(await transitions(t, order.id)).toEqual(['∅→pending', 'pending→paid']);
    });
  });

  describe('exactly once', () => {
    it('the same event 10 times in a row: one transition, one history row, ten deliveries counted', async () => {
      const { order, about } = await orderInCheckout();
      const body = paid(about());
      const outcomes: string[] = [];
      for (let i = 0; i < 10; i++) outcomes.push((await deliverOk(body)).body.outcome as string);

      expect(outcomes).toEqual(['applied', ...Array<string>(9).fill('duplicate')]);
      expect(await transitions(t, order.id)).toEqual(['∅→pending', 'pending→paid']);
      expect(await historyRows(t, order.id)).toHaveLength(2);
      expect(await ledgerRow(t, eventIdOf(body))).toMatchObject({ outcome: 'applied', deliveries: 10 });
    });

    it('the same event 20 times at once, each freshly signed: one transition, one history row', async () => {
      const { order, about } = await orderInCheckout();
      const body = paid(about());
      const responses = await Promise.all(Array.from({ length: 20 }, () => deliver(t, body)));

      expect(responses.map((r) => r.status)).toEqual(Array<number>(20).fill(200));
      const outcomes = responses.map((r) => r.body.outcome as string).sort();
      expect(outcomes).toEqual(['applied', ...Array<string>(19).fill('duplicate')]);
      expect(await historyRows(t, order.id)).toHaveLength(2);
      expect(await orderRow(t, order.id)).toMatchObject({ status: 'paid' });
      expect(await ledgerRow(t, eventIdOf(body))).toMatchObject({ deliveries: 20 });
    });
  });

  describe('news that does not match the order', () => {
    it('a different amount: not paid, flagged for review, answered 200', async () => {
      const { order, about } = await orderInCheckout();
      const body = paid(about({ amount: order.totalAmount - 1 }));
      await deliverOk(body, 'mismatch');
      expect(await orderRow(t, order.id)).toMatchObject({
        status: 'pending',
        needs_review: true,
        review_reason: expect.stringContaining('the order costs $47.00'),
      });
      expect(await ledgerRow(t, eventIdOf(body))).toMatchObject({ outcome: 'mismatch', order_id: order.id });
    });

    it('a different currency: not paid, flagged for review', async () => {
      const { order, about } = await orderInCheckout();
      await deliverOk(asyncSucceeded(about({ currency: 'eur' })), 'mismatch');
      expect(await orderRow(t, order.id)).toMatchObject({ status: 'pending', needs_review: true });
    });

    it('an unknown event type: recorded as ignored, 200', async () => {
      const { order, about } = await orderInCheckout();
      const body = paid(about({ type: 'customer.created' }));
      await deliverOk(body, 'ignored');
      expect(await ledgerRow(t, eventIdOf(body))).toMatchObject({
        type: 'customer.created',
        outcome: 'ignored',
      });
      expect(await orderRow(t, order.id)).toMatchObject({ status: 'pending' });
    });

    it('an unknown order or session: recorded as unmatched, 200', async () => {
      const unknownOrder = paid({
        orderId: '00000000-0000-4000-8000-000000000000',
        sessionId: 'cs_test_unknown',
        amount: 100,
      });
      await deliverOk(unknownOrder, 'unmatched');
      expect(await ledgerRow(t, eventIdOf(unknownOrder))).toMatchObject({
        outcome: 'unmatched',
        order_id: null,
      });

      const notAnOrderId = declined({
        orderId: 'order-from-another-integration',
        sessionId: 'cs_x',
        amount: 100,
      });
      await deliverOk(notAnOrderId, 'unmatched');

      const { order } = await orderInCheckout();
      const foreignSession = expired({
        orderId: order.id,
        sessionId: 'cs_test_made_elsewhere',
        amount: order.totalAmount,
      });
      await deliverOk(foreignSession, 'unmatched');
      expect(await orderRow(t, order.id)).toMatchObject({ status: 'pending' });
    });
  });

  describe('signatures: checked on the raw bytes, before anything is parsed or written', () => {
    let order: PlacedOrderBody;
    let body: string;
    beforeEach(async () => {
      const checkout = await orderInCheckout();
      order = checkout.order;
      body = paid(checkout.about());
    });

    const now = () => Math.floor(Date.now() / 1000);
    const cases: [string, () => string | null, () => string][] = [
      ['missing', () => null, () => body],
      ['malformed', () => 'this is not a signature', () => body],
      ['signed with another secret', () => signWithStripe(body, 'whsec_someone_else'), () => body],
      ['stale (10 minutes old)', () => signWithStripe(body, WEBHOOK_SECRET, now() - 600), () => body],
      [
        'over a tampered body (one byte changed)',
        () => signWithStripe(body),
        () => body.replace('Jenny Rosen', 'Jenny Rosan'),
      ],
      [
        'over a tampered amount',
        () => signWithStripe(body),
        () => body.replace(`"amount_total": ${order.totalAmount}`, '"amount_total": 1'),
      ],
    ];

    it.each(cases)('%s: 400, nothing written', async (_name, signature, sent) => {
      const response = await deliver(t, sent(), signature());
      expect(response.status).toBe(400);
      expect(response.body).toMatchObject({ statusCode: 400, code: 'PAYMENTS.INVALID_SIGNATURE' });
      expect(await countRows(t.orm, 'processed_webhook_events')).toBe(0);
      expect(await orderRow(t, order.id)).toMatchObject({ status: 'pending' });
    });

    it('accepts an independently computed HMAC signature', async () => {
      await deliverOk(body);
      expect(await orderRow(t, order.id)).toMatchObject({ status: 'paid' });
      const again = paid({ orderId: order.id, sessionId: 'cs_test_unknown', amount: 1 });
      const response = await deliver(t, again, signWithHmac(again));
      expect(response.status).toBe(200);
    });

    it('during a rotation: two v1 signatures, one for a secret we no longer hold, one for ours', async () => {
      const response = await deliver(t, body, signWithHmac(body, ['whsec_retired_secret', ROTATED_SECRET]));
      expect(response.status).toBe(200);
      expect(await orderRow(t, order.id)).toMatchObject({ status: 'paid' });
    });

    it('the new secret alone is enough while both are configured', async () => {
      const response = await deliver(t, body, signWithStripe(body, ROTATED_SECRET));
      expect(response.status).toBe(200);
    });
  });

  describe('infrastructure failure', () => {
    it('a database failure mid-webhook: 500, nothing committed; the redelivery applies once', async () => {
      const { order, about } = await orderInCheckout();
      const body = paid(about());
      const sql = t.em().getConnection();
      // A real failure inside the transaction: writing the order's history fails after the ledger
      // row and the attempt were written.
      await sql.execute(`create or replace function fail_history_insert() returns trigger language plpgsql as
        $$ begin raise exception 'disk full (simulated)'; end $$`);
      await sql.execute(`create trigger fail_history before insert on order_history
        for each row execute function fail_history_insert()`);
      try {
        const failed = await deliver(t, body);
        expect(failed.status).toBe(500);
        expect(failed.body).toEqual({
          statusCode: 500,
          code: 'INTERNAL',
          message: 'Internal server error',
          requestId: expect.any(String),
        });
        expect(await ledgerRow(t, eventIdOf(body))).toBeUndefined();
        expect(await orderRow(t, order.id)).toMatchObject({ status: 'pending' });
        const [payment] = await sql.execute<{ status: string }[]>(
          'select status from payments where order_id = ?',
          [order.id],
        );
        expect(payment.status).toBe('open');
      } finally {
        await sql.execute('drop trigger fail_history on order_history');
      }

      await deliverOk(body, 'applied');
      await deliverOk(body, 'duplicate');
      expect(await transitions(t, order.id)).toEqual(['∅→pending', 'pending→paid']);
      // The failed delivery left no trace: the ledger counts the two that followed.
      expect(await ledgerRow(t, eventIdOf(body))).toMatchObject({ outcome: 'applied', deliveries: 2 });
    });
  });

  it('each delivery gets its own event id in the ledger', async () => {
    const { about } = await orderInCheckout();
    const first = newEventId();
    await deliverOk(declined(about({ eventId: first })));
    expect(await ledgerRow(t, first)).toMatchObject({
      type: 'payment_intent.payment_failed',
      outcome: 'applied',
    });
  });
});
