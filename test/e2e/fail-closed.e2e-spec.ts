import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import request from 'supertest';
import { SANDBOX_WEBHOOK_SECRET } from '../../src/config';
import { createTestApp, type TestApp } from '../support/app';
import { countRows, truncateAll } from '../support/db';
import { placeOrder } from '../support/factories';
import { deliver, orderRow, startCheckout, stubStripeEnv, transitions } from '../support/payments';
import { stripeEvent } from '../support/stripe-events';
import { signWithHmac, signWithStripe, WEBHOOK_SECRET } from '../support/stripe-signature';
import { StripeStub } from '../support/stripe-stub';

const ROOT = join(__dirname, '..', '..');

/** Runs `node dist/main.js` with exactly `env` (plus PATH), and returns how it ended. */
async function startRefused(env: Record<string, string>): Promise<{ code: number | null; output: string }> {
  const child = spawn(process.execPath, ['dist/main.js'], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', PORT: '0', SANDBOX_PORT: '0', DATA_DIR: '/nonexistent', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
  const [code] = (await once(child, 'exit')) as [number | null];
  clearTimeout(timer);
  return { code, output };
}

describe('Fail closed: the service refuses to run unsafely', () => {
  const live = 'sk_live_51RealKeyThatMustNeverReachALog';
  it.each([
    ['production without a key', { NODE_ENV: 'production' }, 'STRIPE_SECRET_KEY'],
    [
      'production with a key but no webhook secret',
      { NODE_ENV: 'production', STRIPE_SECRET_KEY: live },
      'STRIPE_WEBHOOK_SECRET',
    ],
    ['Stripe mode without a webhook secret', { STRIPE_SECRET_KEY: live }, 'STRIPE_WEBHOOK_SECRET'],
    [
      'PAYMENTS_MODE=stripe without a key',
      { PAYMENTS_MODE: 'stripe', STRIPE_WEBHOOK_SECRET: WEBHOOK_SECRET },
      'STRIPE_SECRET_KEY',
    ],
    [
      "Stripe mode with the sandbox's public webhook secret",
      { STRIPE_SECRET_KEY: live, STRIPE_WEBHOOK_SECRET: SANDBOX_WEBHOOK_SECRET },
      'STRIPE_WEBHOOK_SECRET',
    ],
    [
      'PAYMENTS_MODE=sandbox with a real key',
      { PAYMENTS_MODE: 'sandbox', STRIPE_SECRET_KEY: live },
      'STRIPE_SECRET_KEY',
    ],
  ])('%s: one line naming the variable, never its value, exit 1', async (_, env, variable) => {
    const { code, output } = await startRefused(env);
    expect(code).toBe(1);
    const lines = output.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^Configuration refused: /);
    expect(lines[0]).toContain(variable);
    expect(output).not.toContain(live);
    expect(output).not.toContain(SANDBOX_WEBHOOK_SECRET);
    expect(output).not.toMatch(/\n\s+at /); // no stack trace
  });
});

describe('Fail closed: webhooks', () => {
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

  async function paidEventFor() {
    const order = await placeOrder(t);
    const { sessionId } = await startCheckout(t, order);
    const body = stripeEvent('checkout.session.completed.paid', {
      orderId: order.id,
      sessionId,
      amount: order.totalAmount,
    });
    return { order, body };
  }

  const hexOf = (header: string) => header.split('v1=')[1];

  it.each([
    ['an empty v1', (body: string, now: number) => `t=${now},v1=`],
    ['a non-hex v1', (body: string, now: number) => `t=${now},v1=${'g'.repeat(64)}`],
    ['a short v1', (body: string, now: number) => `t=${now},v1=${hexOf(signWithStripe(body)).slice(0, 32)}`],
    [
      'a timestamp a year ahead',
      (body: string, now: number) => signWithHmac(body, [WEBHOOK_SECRET], now + 365 * 86_400),
    ],
    [
      'a timestamp ten minutes ahead',
      (body: string, now: number) => signWithHmac(body, [WEBHOOK_SECRET], now + 600),
    ],
    ['no timestamp', (body: string) => `v1=${hexOf(signWithStripe(body))}`],
  ])('%s: 400 with the error shape, nothing written', async (_, header) => {
    const { order, body } = await paidEventFor();
    const response = await deliver(t, body, header(body, Math.floor(Date.now() / 1000))).expect(400);
    expect(response.body).toMatchObject({ statusCode: 400, code: 'PAYMENTS.INVALID_SIGNATURE' });
    expect(await countRows(t.orm, 'processed_webhook_events')).toBe(0);
    expect(await orderRow(t, order.id)).toMatchObject({ status: 'pending' });
  });

  it('a signed event of the other mode (livemode: true at a test-mode service) is refused, nothing applied', async () => {
    const order = await placeOrder(t);
    const { sessionId } = await startCheckout(t, order);
    const body = stripeEvent('checkout.session.completed.paid', {
      orderId: order.id,
      sessionId,
      amount: order.totalAmount,
      livemode: true,
    });
    const response = await deliver(t, body).expect(400);
    expect(response.body).toMatchObject({ code: 'PAYMENTS.LIVEMODE_MISMATCH' });
    expect(await countRows(t.orm, 'processed_webhook_events')).toBe(0);
    expect(await orderRow(t, order.id)).toMatchObject({ status: 'pending' });
  });

  it('a signed body sent form-encoded is refused, nothing applied', async () => {
    const { order, body } = await paidEventFor();
    const form = new URLSearchParams({ payload: body }).toString();
    const response = await request(t.http())
      .post('/api/webhooks/stripe')
      .set('Content-Type', 'application/x-www-form-urlencoded')
      .set('Stripe-Signature', signWithStripe(form))
      .send(form)
      .expect(400);
    expect(response.body).toMatchObject({ code: 'PAYMENTS.UNSUPPORTED_WEBHOOK_BODY' });
    expect(await countRows(t.orm, 'processed_webhook_events')).toBe(0);
    expect(await orderRow(t, order.id)).toMatchObject({ status: 'pending' });
  });

  it.each([
    [
      'no data.object',
      { id: 'evt_test_no_object', type: 'checkout.session.completed', created: 1, livemode: false, data: {} },
    ],
    [
      'an id longer than the ledger column',
      {
        id: `evt_${'x'.repeat(300)}`,
        type: 'checkout.session.completed',
        created: 1,
        livemode: false,
        data: { object: {} },
      },
    ],
    [
      'a type longer than the ledger column',
      { id: 'evt_test_long_type', type: 't'.repeat(200), created: 1, livemode: false, data: { object: {} } },
    ],
    ['not an object', [1, 2, 3]],
    [
      'a session without an id',
      {
        id: 'evt_test_no_session_id',
        type: 'checkout.session.completed',
        created: 1,
        livemode: false,
        data: { object: { object: 'checkout.session' } },
      },
    ],
  ])(
    'a signed event with %s: 200, kept as malformed with its raw payload, a review item, once',
    async (_, event) => {
      const body = JSON.stringify(event);
      const first = await deliver(t, body).expect(200);
      expect(first.body).toEqual({ received: true, outcome: 'malformed' });
      const [row] = await t
        .em()
        .getConnection()
        .execute<{ id: string; outcome: string; payload: string; deliveries: number }[]>(
          'select id, outcome, payload, deliveries from processed_webhook_events',
        );
      expect(row).toMatchObject({ outcome: 'malformed', payload: body, deliveries: 1 });
      expect(row.id.length).toBeLessThanOrEqual(255);
      const second = await deliver(t, body).expect(200);
      expect(second.body).toEqual({ received: true, outcome: 'duplicate' });
      const reviews = await t
        .em()
        .getConnection()
        .execute<{ kind: string; order_id: string | null; source_ref: string }[]>(
          'select kind, order_id, source_ref from review_items',
        );
      expect(reviews).toEqual([{ kind: 'malformed_event', order_id: null, source_ref: row.id }]);
    },
  );

  it('an amount mismatch opens one durable review item and stops reconciliation for that attempt', async () => {
    const order = await placeOrder(t);
    const { sessionId } = await startCheckout(t, order);
    const body = stripeEvent('checkout.session.completed.paid', { orderId: order.id, sessionId, amount: 1 });
    expect((await deliver(t, body).expect(200)).body).toEqual({ received: true, outcome: 'mismatch' });
    expect(await orderRow(t, order.id)).toMatchObject({ status: 'pending', needs_review: true });
    const [attempt] = await t
      .em()
      .getConnection()
      .execute<{ status: string }[]>('select status from payments where order_id = ?', [order.id]);
    expect(attempt.status).toBe('needs_review');
    const reviews = await t
      .em()
      .getConnection()
      .execute<{ kind: string; order_id: string }[]>('select kind, order_id from review_items');
    expect(reviews).toEqual([{ kind: 'amount_mismatch', order_id: order.id }]);
  });

  it("the customer's history leaves out internal notes; staff's rows keep them", async () => {
    const order = await placeOrder(t);
    const { sessionId } = await startCheckout(t, order);
    await deliver(
      t,
      stripeEvent('checkout.session.completed.paid', {
        orderId: order.id,
        sessionId,
        amount: order.totalAmount,
      }),
    ).expect(200);
    // Paid, then a late expiry: an internal note naming the attempt.
    await deliver(
      t,
      stripeEvent('checkout.session.expired', { orderId: order.id, sessionId, amount: order.totalAmount }),
    ).expect(200);
    const history = await request(t.http())
      .get(`/api/orders/${order.id}/history`)
      .set('Authorization', `Bearer ${order.accessToken}`)
      .expect(200);
    const reasons = (history.body as { reason: string }[]).map((entry) => entry.reason);
    expect(reasons).toEqual(['Order placed', 'Payment confirmed']);
    expect(JSON.stringify(history.body)).not.toContain('attempt');
    expect(await transitions(t, order.id)).toEqual(['∅→pending', 'pending→paid']);
    const [note] = await t
      .em()
      .getConnection()
      .execute<{ reason: string; internal: boolean }[]>(
        'select reason, internal from order_history where order_id = ? order by id desc limit 1',
        [order.id],
      );
    expect(note).toMatchObject({ internal: true, reason: expect.stringContaining('Checkout expired') });
  });
});
