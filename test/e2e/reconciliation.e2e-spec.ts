import { ReconciliationService } from '../../src/payments/reconciliation.service';
import { createTestApp, type TestApp } from '../support/app';
import { truncateAll } from '../support/db';
import { placeOrder } from '../support/factories';
import { historyRows, orderRow, startCheckout, stubStripeEnv, transitions } from '../support/payments';
import { StripeStub } from '../support/stripe-stub';

describe('Reconciliation', () => {
  const stub = new StripeStub();
  let a: TestApp;
  let b: TestApp;

  beforeAll(async () => {
    await stub.start();
    const env = { ...stubStripeEnv(stub), RECONCILE_AFTER_SECONDS: '600' };
    [a, b] = [await createTestApp({ env }), await createTestApp({ env })];
  });
  afterAll(async () => {
    await Promise.all([a.close(), b.close()]);
    await stub.stop();
  });
  beforeEach(async () => {
    stub.reset();
    await truncateAll(a.orm);
  });

  /** An order whose checkout began `minutes` ago and whose webhooks never came. */
  async function staleCheckout(minutes = 30) {
    const order = await placeOrder(a);
    const { sessionId } = await startCheckout(a, order);
    await a
      .em()
      .getConnection()
      .execute(
        `update payments set created_at = now() - make_interval(mins => ?),
           next_check_at = now() - make_interval(mins => ?) + interval '600 seconds' where session_id = ?`,
        [minutes, minutes, sessionId],
      );
    return { order, sessionId };
  }

  const retrievals = () => stub.requests.filter((r) => r.method === 'GET').map((r) => r.path);

  it('asks Stripe about attempts left without news and applies the answer as a webhook would', async () => {
    const { order, sessionId } = await staleCheckout();
    stub.update(sessionId, { status: 'complete', payment_status: 'paid' });

    expect(await a.app.get(ReconciliationService).runOnce()).toEqual({ checked: 1, applied: 1, failed: 0 });
    expect(await orderRow(a, order.id)).toMatchObject({ status: 'paid' });
    expect((await historyRows(a, order.id)).at(-1)).toMatchObject({
      source_kind: 'reconciliation',
      source_ref: sessionId,
    });
  });

  it('leaves recent attempts alone, and does not ask twice in a row', async () => {
    const recent = await placeOrder(a);
    await startCheckout(a, recent);
    await staleCheckout();
    const service = a.app.get(ReconciliationService);
    expect(await service.runOnce()).toMatchObject({ checked: 1, applied: 0 }); // still open: nothing to apply
    expect(await service.runOnce()).toMatchObject({ checked: 0 });
    expect(retrievals()).toHaveLength(1);
  });

  it('applies an expiry and a failed settlement', async () => {
    const expired = await staleCheckout();
    stub.update(expired.sessionId, { status: 'expired', url: null });
    const failed = await staleCheckout();
    stub.update(failed.sessionId, {
      status: 'complete',
      payment_status: 'unpaid',
      payment_intent: {
        id: 'pi_test_failed',
        object: 'payment_intent',
        status: 'requires_payment_method',
        last_payment_error: { message: 'The bank account has been closed.' },
      },
    });
    await a.app.get(ReconciliationService).runOnce();
    expect(await orderRow(a, expired.order.id)).toMatchObject({
      status: 'failed',
      status_reason: 'Checkout expired',
    });
    expect(await orderRow(a, failed.order.id)).toMatchObject({
      status: 'failed',
      status_reason: 'The bank account has been closed.',
    });
  });

  it('two instances running at once share the work: each attempt checked once, applied once', async () => {
    const checkouts = [];
    for (let i = 0; i < 8; i++) checkouts.push(await staleCheckout());
    for (const { sessionId } of checkouts)
      stub.update(sessionId, { status: 'complete', payment_status: 'paid' });

    const [runA, runB] = await Promise.all([
      a.app.get(ReconciliationService).runOnce(),
      b.app.get(ReconciliationService).runOnce(),
    ]);
    expect(runA.checked + runB.checked).toBe(8);
    expect(runA.applied + runB.applied).toBe(8);
    expect(retrievals().sort()).toEqual(checkouts.map((c) => `/v1/checkout/sessions/${c.sessionId}`).sort());
    for (const { order } of checkouts) {
      expect(await transitions(a, order.id)).toEqual(['∅→pending', 'pending→paid']);
    }
  });

  it('a Stripe failure on one attempt does not stop the others', async () => {
    const first = await staleCheckout(40);
    const second = await staleCheckout(30);
    stub.update(second.sessionId, { status: 'complete', payment_status: 'paid' });
    stub.failNext(500);
    stub.failNext(500);
    expect(await a.app.get(ReconciliationService).runOnce()).toEqual({ checked: 2, applied: 1, failed: 1 });
    expect(await orderRow(a, first.order.id)).toMatchObject({ status: 'pending' });
    expect(await orderRow(a, second.order.id)).toMatchObject({ status: 'paid' });
  });
});
