import request from 'supertest';
import { AppConfig } from '../../src/config';
import { ReconciliationService } from '../../src/payments/reconciliation.service';
import { createTestApp, type TestApp } from '../support/app';
import { countRows, truncateAll } from '../support/db';
import { placeOrder, type PlacedOrderBody } from '../support/factories';
import { historyRows, ledgerRow, orderRow, startCheckout, transitions } from '../support/payments';
import {
  advanceSandboxClock,
  clearSandboxFaults,
  payWithCard,
  sandboxEvents,
  sandboxStripe,
  setSandboxChaos,
  setSandboxFault,
  TEST_CARDS,
} from '../support/sandbox';
import { OrdersClient } from '../support/sockets';
import { addStaff, auditRows, issueToken } from '../support/staff';
import { waitFor } from '../support/wait';

/** Stripe's test cards for what happens after a payment (the sandbox knows them as Stripe does). */
const REFUND_FAILS = '4000 0000 0000 5126';
const DISPUTED = '4000 0000 0000 0259';
const SETTLEMENT_SECONDS = 5;

/**
 * Refunds and disputes end to end: staff ask through the API, the service asks the sandbox (Stripe)
 * through its real adapter, and the sandbox's signed events settle them through the webhook ledger.
 */
describe('Refunds and disputes through the Stripe sandbox', () => {
  let t: TestApp;
  let sandbox: string;
  let baseUrl: string;
  let token: string;

  beforeAll(async () => {
    t = await createTestApp({
      listen: true,
      // A lost request is given up after 3 s (the SDK then tries once more under the same key).
      env: { SANDBOX_SETTLEMENT_SECONDS: String(SETTLEMENT_SECONDS), STRIPE_TIMEOUT_MS: '3000' },
    });
    const config = t.app.get(AppConfig);
    sandbox = `http://127.0.0.1:${config.sandbox.port}`;
    baseUrl = `http://127.0.0.1:${config.port}`;
  });
  afterAll(() => t.close());
  beforeEach(async () => {
    await clearSandboxFaults(sandbox);
    await setSandboxChaos(sandbox, { duplicates: false, outOfOrder: false, delaySeconds: 0 });
    await truncateAll(t.orm);
    await addStaff(t, 'ops@shop.test', 'operator');
    token = await issueToken(t, 'ops@shop.test');
  });

  const refund = (orderId: string, body: object, key?: string) => {
    const call = request(t.http())
      .post(`/api/admin/orders/${orderId}/refunds`)
      .set('Authorization', `Bearer ${token}`);
    if (key) call.set('Idempotency-Key', key);
    return call.send(body);
  };

  const staffRecord = async (orderId: string) =>
    (
      await request(t.http())
        .get(`/api/admin/orders/${orderId}`)
        .set('Authorization', `Bearer ${token}`)
        .expect(200)
    ).body as {
      status: string;
      refundedAmount: number;
      dispute: string | null;
      refunds: {
        id: string;
        amount: number;
        status: string;
        failureReason: string | null;
        requestedBy: string;
      }[];
      disputes: {
        stripeDisputeId: string;
        status: string;
        outcome: string | null;
        reason: string;
        evidenceDueBy: string | null;
        amount: number;
      }[];
      history: { to: string; reason: string; internal: boolean }[];
    };

  const reviewKinds = async (orderId: string, state: 'open' | 'all') => {
    const response = await request(t.http())
      .get(`/api/admin/reviews?orderId=${orderId}&state=${state}`)
      .set('Authorization', `Bearer ${token}`)
      .expect(200);
    return (response.body as { items: { kind: string }[] }).items.map((item) => item.kind);
  };

  const statusBecomes = (order: PlacedOrderBody, status: string) =>
    waitFor(async () => (await orderRow(t, order.id)).status === status, `order ${order.id} to be ${status}`);

  async function paidOrder(card: string = TEST_CARDS.success): Promise<PlacedOrderBody> {
    const order = await placeOrder(t); // $47.00: two bags and a mug
    const { url } = await startCheckout(t, order);
    expect((await payWithCard(url, { number: card })).status).toBe(303);
    await statusBecomes(order, 'paid');
    return order;
  }

  const customerView = async (order: PlacedOrderBody) =>
    (
      await request(t.http())
        .get(`/api/orders/${order.id}`)
        .set('Authorization', `Bearer ${order.accessToken}`)
        .expect(200)
    ).body as { status: string; refundedAmount: number; totalAmount: number };

  const settleRefunds = () => advanceSandboxClock(sandbox, SETTLEMENT_SECONDS);

  it('a full refund: pending at Stripe, then refunded once Stripe says it succeeded', async () => {
    const order = await paidOrder();
    const created = await refund(order.id, { reason: 'Customer changed their mind' }).expect(201);
    expect(created.body).toMatchObject({
      orderId: order.id,
      amount: order.totalAmount,
      currency: 'usd',
      status: 'pending',
      stripeRefundId: expect.stringMatching(/^re_/),
      requestedBy: 'ops@shop.test',
    });
    expect((await customerView(order)).status).toBe('paid'); // not before Stripe says so

    await settleRefunds();
    await statusBecomes(order, 'refunded');
    expect(await customerView(order)).toMatchObject({
      status: 'refunded',
      refundedAmount: order.totalAmount,
    });
    expect(await transitions(t, order.id)).toEqual(['∅→pending', 'pending→paid', 'paid→refunded']);
    expect((await historyRows(t, order.id)).at(-1)).toMatchObject({
      reason: `Refunded $${(order.totalAmount / 100).toFixed(2)}`,
      source_kind: 'webhook',
    });

    const events = (await sandboxEvents(sandbox)).filter((e) => e.objectId === created.body.stripeRefundId);
    const updated = events.find((e) => e.type === 'refund.updated')!;
    expect(await ledgerRow(t, updated.id)).toMatchObject({ outcome: 'applied', order_id: order.id });
    const audit = (await auditRows(t)).filter((row) => row.action === 'refund.create');
    expect(audit).toEqual([
      expect.objectContaining({
        actor_email: 'ops@shop.test',
        channel: 'token',
        target_id: order.id,
        before: { status: 'paid', refundedAmount: 0 },
        after: expect.objectContaining({ amount: order.totalAmount, status: 'pending' }),
      }),
    ]);
  });

  it('two partial refunds add up: partially_refunded, then refunded', async () => {
    const order = await paidOrder();
    await refund(order.id, { amount: 1250, reason: 'Damaged mug' }).expect(201);
    await settleRefunds();
    await statusBecomes(order, 'partially_refunded');
    expect(await customerView(order)).toMatchObject({ status: 'partially_refunded', refundedAmount: 1250 });
    expect((await orderRow(t, order.id)).status_reason).toBe('Refunded $12.50');

    await refund(order.id, { amount: order.totalAmount - 1250, reason: 'The rest, as agreed' }).expect(201);
    await settleRefunds();
    await statusBecomes(order, 'refunded');
    expect(await customerView(order)).toMatchObject({ refundedAmount: order.totalAmount });
    expect(await transitions(t, order.id)).toEqual([
      '∅→pending',
      'pending→paid',
      'paid→partially_refunded',
      'partially_refunded→refunded',
    ]);
    // Nothing is left: a third refund is refused before Stripe is asked.
    await refund(order.id, { reason: 'once more' }).expect(409);
  });

  it('refuses more than was paid, and more than is left, asking Stripe nothing', async () => {
    const order = await paidOrder();
    const tooMuch = await refund(order.id, { amount: order.totalAmount + 1, reason: 'typo' }).expect(422);
    expect(tooMuch.body).toMatchObject({ code: 'REFUNDS.EXCEEDS_PAID', errors: [{ field: 'amount' }] });
    await refund(order.id, { amount: 1000, reason: 'part' }).expect(201);
    await refund(order.id, { amount: order.totalAmount - 1000 + 1, reason: 'rest and a cent' }).expect(422);
    expect(await countRows(t.orm, 'refunds')).toBe(1);
    const refundsAtStripe = (await sandboxEvents(sandbox)).filter((e) => e.type === 'refund.created');
    expect(refundsAtStripe.filter((e) => e.objectId.startsWith('re_'))).toHaveLength(
      (await sandboxEvents(sandbox)).filter((e) => e.type === 'refund.created').length,
    );
    expect((await staffRecord(order.id)).refunds.map((r) => r.amount)).toEqual([1000]);
  });

  it('two concurrent refunds that together exceed the payment: one is made, the other refused', async () => {
    const order = await paidOrder();
    const share = Math.ceil(order.totalAmount * 0.6);
    const answers = await Promise.all([
      refund(order.id, { amount: share, reason: 'first' }),
      refund(order.id, { amount: share, reason: 'second' }),
    ]);
    expect(answers.map((a) => a.status).sort()).toEqual([201, 422]);
    expect(await countRows(t.orm, 'refunds')).toBe(1);
    const record = await staffRecord(order.id);
    expect(record.refunds).toHaveLength(1);
    await settleRefunds();
    await statusBecomes(order, 'partially_refunded');
    expect((await customerView(order)).refundedAmount).toBe(share);
  });

  it('the same Idempotency-Key is the same refund', async () => {
    const order = await paidOrder();
    const [a, b] = await Promise.all([
      refund(order.id, { amount: 500, reason: 'double click' }, 'dialog-1'),
      refund(order.id, { amount: 500, reason: 'double click' }, 'dialog-1'),
    ]);
    expect([a.status, b.status]).toEqual([201, 201]);
    expect(a.body.id).toBe(b.body.id);
    expect(await countRows(t.orm, 'refunds')).toBe(1);
    await refund(order.id, { amount: 600, reason: 'other amount' }, 'dialog-1').expect(422);
  });

  it('a refund that fails at Stripe: the order stays paid, and a person is asked to look', async () => {
    const order = await paidOrder(REFUND_FAILS);
    await refund(order.id, { amount: 1000, reason: 'Late delivery' }).expect(201);
    await settleRefunds();
    const failed = await waitFor(async () => {
      const record = await staffRecord(order.id);
      return record.refunds[0]?.status === 'failed' && record;
    }, 'the refund to fail');
    expect(failed.refunds[0]).toMatchObject({ failureReason: 'expired_or_canceled_card' });
    expect(failed).toMatchObject({ status: 'paid', refundedAmount: 0 });
    const reviews = await request(t.http())
      .get(`/api/admin/reviews?orderId=${order.id}`)
      .set('Authorization', `Bearer ${token}`)
      .expect(200);
    expect(reviews.body.items).toEqual([
      expect.objectContaining({ kind: 'refund_failed', reason: expect.stringContaining('$10.00 failed') }),
    ]);
    // The failed refund gives its amount back: all of it can be refunded again.
    await refund(order.id, { reason: 'Try again, in full' }).expect(201);
  });

  it.each([
    ['won', 'won'],
    ['lost', 'lost'],
  ])('a dispute opened by the dispute test card, then closed %s', async (outcome, shown) => {
    const order = await paidOrder(DISPUTED);
    // The order and its disputes are read one after the other: wait until both show it.
    const opened = await waitFor(async () => {
      const record = await staffRecord(order.id);
      return record.disputes.length > 0 && record.dispute === 'open' && record;
    }, 'the dispute to be recorded');
    expect(opened.disputes[0]).toMatchObject({
      reason: 'fraudulent',
      status: 'needs_response',
      outcome: null,
      amount: order.totalAmount,
      evidenceDueBy: expect.any(String),
    });
    expect(opened.dispute).toBe('open');
    expect(await reviewKinds(order.id, 'open')).toEqual(['dispute']);

    const closing = await fetch(`${sandbox}/_sandbox/disputes/${opened.disputes[0].stripeDisputeId}/close`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ outcome }),
    });
    expect(closing.status).toBe(200);
    const closed = await waitFor(async () => {
      const record = await staffRecord(order.id);
      return record.disputes[0].outcome === outcome && record.dispute === shown && record;
    }, `the dispute to be ${outcome}`);
    expect(closed.dispute).toBe(shown);
    expect(closed.history.filter((h) => h.reason.startsWith('Dispute')).map((h) => h.internal)).not.toContain(
      false,
    );
    expect((await reviewKinds(order.id, 'all')).sort()).toEqual(
      outcome === 'lost' ? ['dispute', 'dispute_lost'] : ['dispute'],
    );
    // The customer sees their order as paid; the dispute is for staff.
    expect(await customerView(order)).toMatchObject({ status: 'paid', refundedAmount: 0 });
  });

  describe('a refund Stripe did not answer', () => {
    const reconcile = () => t.app.get(ReconciliationService).runOnce();
    const makeDue = (orderId: string, age = '0 seconds') =>
      t
        .em()
        .getConnection()
        .execute(
          `update refunds set next_check_at = now(), created_at = now() - ?::interval where order_id = ? and sequence = 1`,
          [age, orderId],
        );
    const refundRow = async (orderId: string) =>
      (
        await t
          .em()
          .getConnection()
          .execute<{ status: string; stripe_refund_id: string | null; next_check_at: Date | null }[]>(
            'select status, stripe_refund_id, next_check_at from refunds where order_id = ? and sequence = 1',
            [orderId],
          )
      )[0];
    /** The refunds Stripe (the sandbox) holds for this order, whoever asked. */
    const refundsAtStripe = async (orderId: string) =>
      (await sandboxStripe(sandbox).refunds.list({ limit: 100 })).data.filter(
        (r) => r.metadata?.orderId === orderId,
      );
    const unanswered = async (orderId: string, fault: 'drop_response' | 'timeout') => {
      // The SDK tries once more under the same key: both tries go unanswered (a dropped answer
      // first, if Stripe did the work; the retry then lost on the way).
      if (fault === 'drop_response') {
        await setSandboxFault(sandbox, { operation: 'refunds.create', fault, count: 1 });
        await setSandboxFault(sandbox, { operation: 'refunds.create', fault: 'timeout', count: 1 });
      } else {
        await setSandboxFault(sandbox, { operation: 'refunds.create', fault, count: 2 });
      }
      const response = await refund(orderId, { amount: 1000, reason: 'Scratched mug' }).expect(502);
      expect(response.body.code).toBe('PAYMENTS.PROVIDER_UNAVAILABLE');
      expect(await refundRow(orderId)).toMatchObject({ status: 'creating', stripe_refund_id: null });
    };

    it('made at Stripe but its answer lost, and its events late: reconciliation learns it under its key, once', async () => {
      const order = await paidOrder();
      await setSandboxChaos(sandbox, { delaySeconds: 600 }); // Stripe's events are late
      await unanswered(order.id, 'drop_response');
      const atStripe = await refundsAtStripe(order.id);
      expect(atStripe).toHaveLength(1);

      expect(await reconcile()).toEqual({ checked: 0, applied: 0, failed: 0 }); // not due yet
      await makeDue(order.id);
      expect(await reconcile()).toEqual({ checked: 1, applied: 1, failed: 0 });
      expect(await refundRow(order.id)).toMatchObject({
        status: 'pending',
        stripe_refund_id: atStripe[0].id,
        next_check_at: null,
      });
      expect(await refundsAtStripe(order.id)).toHaveLength(1); // the same key: the same refund
      expect(await reconcile()).toEqual({ checked: 0, applied: 0, failed: 0 }); // never asked again

      await settleRefunds();
      await advanceSandboxClock(sandbox, 610); // the late events arrive
      await statusBecomes(order, 'partially_refunded');
      expect((await customerView(order)).refundedAmount).toBe(1000);
      expect((await staffRecord(order.id)).refunds).toEqual([
        expect.objectContaining({ amount: 1000, status: 'succeeded' }),
      ]);
    });

    it('lost before Stripe saw it: reconciliation makes it under its key, once', async () => {
      const order = await paidOrder();
      await unanswered(order.id, 'timeout');
      expect(await refundsAtStripe(order.id)).toHaveLength(0);

      // Stripe's events come late, so that what reconciliation learns is its own doing.
      await setSandboxChaos(sandbox, { delaySeconds: 600 });
      await makeDue(order.id);
      expect(await reconcile()).toEqual({ checked: 1, applied: 1, failed: 0 });
      const [made] = await refundsAtStripe(order.id);
      expect(made).toMatchObject({ amount: 1000, metadata: { orderId: order.id } });
      expect(await refundRow(order.id)).toMatchObject({ status: 'pending', stripe_refund_id: made.id });
      await settleRefunds();
      await advanceSandboxClock(sandbox, 610);
      await statusBecomes(order, 'partially_refunded');
      expect(await refundsAtStripe(order.id)).toHaveLength(1);
    });

    it('Stripe still unreachable: asked again later; once its key is too old, a person is asked instead', async () => {
      const order = await paidOrder();
      await setSandboxChaos(sandbox, { delaySeconds: 600 });
      await unanswered(order.id, 'drop_response');

      await setSandboxFault(sandbox, { operation: 'refunds.create', fault: 'timeout', count: 2 });
      await makeDue(order.id);
      expect(await reconcile()).toEqual({ checked: 1, applied: 0, failed: 1 });
      const later = await refundRow(order.id);
      expect(later.status).toBe('creating');
      expect(new Date(later.next_check_at!).getTime()).toBeGreaterThan(Date.now() + 60_000); // backoff

      // A day later Stripe no longer keeps the key: asking again could refund twice.
      await makeDue(order.id, '24 hours');
      expect(await reconcile()).toEqual({ checked: 1, applied: 0, failed: 0 });
      expect(await refundRow(order.id)).toMatchObject({ status: 'creating', next_check_at: null });
      expect(await reviewKinds(order.id, 'open')).toEqual(['refund_unconfirmed']);
      expect(await refundsAtStripe(order.id)).toHaveLength(1);
      expect(await reconcile()).toEqual({ checked: 0, applied: 0, failed: 0 });
      // Meanwhile it counts as given back: no more than the rest can be refunded.
      await refund(order.id, { reason: 'All of it' }).expect(201);
      expect((await staffRecord(order.id)).refunds.map((r) => r.amount).sort((a, b) => a - b)).toEqual([
        1000,
        order.totalAmount - 1000,
      ]);

      // Stripe's late events still settle it.
      await clearSandboxFaults(sandbox);
      await settleRefunds();
      await advanceSandboxClock(sandbox, 610);
      await waitFor(
        async () => (await refundRow(order.id)).status === 'succeeded',
        'the late events to settle it',
      );
    });
  });

  it('refund events delivered twice and newest first are applied once', async () => {
    const order = await paidOrder();
    await setSandboxChaos(sandbox, { duplicates: true, outOfOrder: true, delaySeconds: 1 });
    const made = await refund(order.id, { amount: 1250, reason: 'chaos' }).expect(201);
    await settleRefunds(); // the refund succeeds at Stripe
    await advanceSandboxClock(sandbox, 2); // and its events go out, newest first, each twice
    await statusBecomes(order, 'partially_refunded');
    const ids = (await sandboxEvents(sandbox))
      .filter((e) => e.objectId === made.body.stripeRefundId)
      .map((e) => e.id);
    const rows = await waitFor(async () => {
      const found = await Promise.all(ids.map((id) => ledgerRow(t, id)));
      return found.every((row) => row && row.deliveries >= 2) && found;
    }, 'every refund event delivered twice');
    // refund.updated (succeeded) came first and applied; refund.created (pending) after it is stale.
    expect(rows.map((row) => row!.outcome).sort()).toEqual(['applied', 'ignored']);
    expect(
      (await transitions(t, order.id)).filter((step) => step.endsWith('→partially_refunded')),
    ).toHaveLength(1);
    expect((await customerView(order)).refundedAmount).toBe(1250);
  });

  it("pushes the refund to the customer's open order page", async () => {
    const order = await paidOrder();
    const client = await OrdersClient.connect(baseUrl, { orderId: order.id, token: order.accessToken });
    try {
      await client.heard(order.id, 'paid');
      await refund(order.id, { amount: 1250, reason: 'Damaged mug' }).expect(201);
      await settleRefunds();
      const pushed = await client.heard(order.id, 'partially_refunded', 10_000);
      expect(pushed).toMatchObject({ reason: 'Refunded $12.50' });
      expect(JSON.stringify(client.statuses)).not.toContain('Damaged mug');
    } finally {
      client.close();
    }
  });

  it('replays a dispute event that arrived before its payment, once the payment is known', async () => {
    const since = Math.floor(Date.now() / 1000);
    await setSandboxChaos(sandbox, { outOfOrder: true, delaySeconds: 1 });
    const order = await placeOrder(t);
    const { url } = await startCheckout(t, order);
    await payWithCard(url, { number: DISPUTED });
    await advanceSandboxClock(sandbox, 2);
    await statusBecomes(order, 'paid');
    const created = await waitFor(
      async () =>
        (await sandboxEvents(sandbox))
          .filter((e) => e.type === 'charge.dispute.created' && e.created >= since)
          .at(-1),
      'the dispute to be opened at Stripe',
    );
    const first = await waitFor(() => ledgerRow(t, created.id), 'the dispute event');
    expect(first).toMatchObject({ outcome: 'unmatched' });

    const replayed = await request(t.http())
      .post(`/api/admin/webhook-events/${created.id}/replay`)
      .set('Authorization', `Bearer ${token}`)
      .expect(200);
    expect(replayed.body).toMatchObject({
      previousOutcome: 'unmatched',
      outcome: 'applied',
      orderId: order.id,
    });
    expect((await staffRecord(order.id)).disputes).toHaveLength(1);
    // Applied now: a second replay is refused, and nothing is applied twice.
    await request(t.http())
      .post(`/api/admin/webhook-events/${created.id}/replay`)
      .set('Authorization', `Bearer ${token}`)
      .expect(409);
    expect(await countRows(t.orm, 'disputes')).toBe(1);
    expect((await auditRows(t)).map((row) => row.action)).toEqual(
      expect.arrayContaining(['webhook_event.replay', 'webhook_event.replay_refused']),
    );
  });
});
