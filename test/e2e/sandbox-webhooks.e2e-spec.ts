import { randomUUID } from 'node:crypto';
import type Stripe from 'stripe';
import {
  advanceSandboxClock,
  payByBank,
  payWithCard,
  sandboxEvents,
  setSandboxChaos,
  startTestSandbox,
  startWebhookReceiver,
  TEST_BANK_ACCOUNTS,
  TEST_CARDS,
  type TestSandbox,
  waitForDeliveries,
  type WebhookReceiver,
} from '../support/sandbox';
import { waitFor } from '../support/wait';

/**
 * Webhook delivery as Stripe does it: signed, retried with backoff on errors and timeouts (re-signed
 * each time), at least once; and the chaos switches that make duplicates, disorder and delays.
 */
describe('Stripe sandbox webhook delivery', () => {
  let sandbox: TestSandbox | undefined;
  let receiver: WebhookReceiver | undefined;

  async function start(
    env: Record<string, string>,
    respond?: (event: Stripe.Event, arrival: number) => number | 'no answer',
    secret?: string,
  ): Promise<{ sandbox: TestSandbox; receiver: WebhookReceiver }> {
    receiver = await startWebhookReceiver({ respond, secret });
    sandbox = await startTestSandbox({ SANDBOX_WEBHOOK_URL: receiver.url, ...env });
    return { sandbox, receiver };
  }
  afterEach(async () => {
    await sandbox?.close();
    await receiver?.close();
    sandbox = receiver = undefined;
  });

  const nowSeconds = () => Math.floor(Date.now() / 1000);
  async function openSession(s: TestSandbox, currency = 'usd'): Promise<Stripe.Checkout.Session> {
    const orderId = randomUUID();
    return s.stripe.checkout.sessions.create({
      mode: 'payment',
      line_items: [{ price_data: { currency, unit_amount: 2599, product_data: { name: 'Pour-over kettle' } }, quantity: 1 }],
      success_url: 'http://localhost:3000/checkout/success?session_id={CHECKOUT_SESSION_ID}',
      metadata: { orderId },
      payment_intent_data: { metadata: { orderId } },
      expires_at: nowSeconds() + 3600,
    }); // prettier-ignore
  }

  it('signs each delivery as Stripe does: t=<unix>,v1=<hex HMAC-SHA256>, verifiable with the secret', async () => {
    const { sandbox, receiver } = await start({});
    const session = await openSession(sandbox);
    await sandbox.stripe.checkout.sessions.expire(session.id, {}, { idempotencyKey: 'expire-1' });

    const [delivery] = await receiver.waitForCount(1);
    expect(delivery.signature).toMatch(/^t=\d+,v1=[0-9a-f]{64}$/);
    expect(delivery.event).toMatchObject({
      type: 'checkout.session.expired',
      data: { object: { id: session.id } },
      request: { id: expect.stringMatching(/^req_/), idempotency_key: 'expire-1' },
    });
    expect(Math.abs(delivery.signedAt - nowSeconds())).toBeLessThan(60);
    expect(receiver.rejected).toEqual([]);
  });

  it('is refused by an endpoint that holds another secret (the check is real)', async () => {
    const { sandbox, receiver } = await start({}, undefined, 'whsec_some_other_endpoint_secret');
    await sandbox.stripe.checkout.sessions.expire((await openSession(sandbox)).id);
    await waitFor(() => receiver.rejected.length === 1, 'a rejected delivery');
    expect(receiver.received).toEqual([]);
    expect(receiver.rejected[0]).toMatch(/No signatures found matching the expected signature/);
    const [event] = await waitForDeliveries(sandbox.baseUrl, { types: ['checkout.session.expired'] });
    expect(event.deliveries[0]).toMatchObject({ status: 'failed', attempts: [{ statusCode: 400 }] });
  });

  it('retries a 500 on the retry schedule (driven by the clock) until the endpoint answers 2xx', async () => {
    const { sandbox, receiver } = await start({ SANDBOX_RETRY_SCHEDULE: '60,300,1800' }, (_event, arrival) =>
      arrival <= 2 ? 500 : 200,
    );
    await sandbox.stripe.checkout.sessions.expire((await openSession(sandbox)).id);
    await receiver.waitForCount(1);
    const attempts = async () => (await sandboxEvents(sandbox.baseUrl))[0].deliveries[0].attempts;
    await waitFor(async () => (await attempts()).length === 1, 'the first attempt recorded');

    await advanceSandboxClock(sandbox.baseUrl, 59);
    expect(await attempts()).toHaveLength(1);
    await advanceSandboxClock(sandbox.baseUrl, 1);
    await receiver.waitForCount(2);
    await waitFor(async () => (await attempts()).length === 2, 'the second attempt recorded');
    await advanceSandboxClock(sandbox.baseUrl, 299);
    expect(await attempts()).toHaveLength(2);
    await advanceSandboxClock(sandbox.baseUrl, 1);
    await receiver.waitForCount(3);

    const [event] = await waitForDeliveries(sandbox.baseUrl, { types: ['checkout.session.expired'] });
    expect(event.deliveries).toHaveLength(1);
    expect(event.deliveries[0].status).toBe('succeeded');
    expect(event.deliveries[0].attempts.map((a) => a.statusCode)).toEqual([500, 500, 200]);
    expect(new Set(receiver.received.map((r) => r.event.id))).toEqual(new Set([event.id]));
    expect(new Set(receiver.received.map((r) => r.rawBody)).size).toBe(1);

    // The events page lists the event and each attempt with its response code.
    const dashboard = await (await fetch(`${sandbox.baseUrl}/`)).text();
    expect(dashboard).toContain(event.id);
    expect(dashboard).toContain('checkout.session.expired');
    expect(dashboard.match(/<span class="bad"\s*>500<\/span/g)).toHaveLength(2);
    expect(dashboard.match(/<span class="ok"\s*>200<\/span/g)).toHaveLength(1);
  });

  it('re-signs every retry with a new timestamp', async () => {
    const { sandbox, receiver } = await start({ SANDBOX_RETRY_SCHEDULE: '1.1' }, (_event, arrival) =>
      arrival === 1 ? 503 : 200,
    );
    await sandbox.stripe.checkout.sessions.expire((await openSession(sandbox)).id);
    const [first, retry] = await receiver.waitForCount(2);
    expect(retry.event.id).toBe(first.event.id);
    expect(retry.rawBody).toBe(first.rawBody);
    expect(retry.signedAt).toBeGreaterThan(first.signedAt);
    expect(retry.signature).not.toBe(first.signature);
  });

  it('treats a timeout as a failure and retries it', async () => {
    const { sandbox, receiver } = await start(
      { SANDBOX_WEBHOOK_TIMEOUT_SECONDS: '0.3', SANDBOX_RETRY_SCHEDULE: '0.1' },
      (_event, arrival) => (arrival === 1 ? 'no answer' : 200),
    );
    await sandbox.stripe.checkout.sessions.expire((await openSession(sandbox)).id);
    await receiver.waitForCount(2);
    const [event] = await waitForDeliveries(sandbox.baseUrl, { types: ['checkout.session.expired'] });
    expect(event.deliveries[0].attempts).toMatchObject([
      { number: 1, statusCode: null, error: 'timed out after 0.3 s' },
      { number: 2, statusCode: 200, error: null },
    ]);
  });

  it('gives up after the last retry of the schedule', async () => {
    const { sandbox, receiver } = await start({ SANDBOX_RETRY_SCHEDULE: '0.05,0.05' }, () => 503);
    await sandbox.stripe.checkout.sessions.expire((await openSession(sandbox)).id);
    const [event] = await waitForDeliveries(sandbox.baseUrl, { types: ['checkout.session.expired'] });
    expect(event.deliveries[0].status).toBe('failed');
    expect(event.deliveries[0].attempts.map((a) => a.statusCode)).toEqual([503, 503, 503]);
    expect(receiver.received).toHaveLength(3);
  });

  describe('chaos switches', () => {
    it('duplicates: every event arrives twice, same id and body', async () => {
      const { sandbox, receiver } = await start({ SANDBOX_CHAOS: 'duplicates' });
      const session = await openSession(sandbox);
      await payWithCard(session.url!, { number: TEST_CARDS.success });
      const received = await receiver.waitForCount(8);
      const ids = received.map((r) => r.event.id);
      expect(new Set(ids).size).toBe(4);
      for (const id of new Set(ids)) {
        const copies = received.filter((r) => r.event.id === id);
        expect(copies).toHaveLength(2);
        expect(copies[0].rawBody).toBe(copies[1].rawBody);
      }
      const events = await sandboxEvents(sandbox.baseUrl);
      expect(events.every((e) => e.deliveries.length === 2)).toBe(true);
    });

    it('out of order: the events of one action arrive newest first', async () => {
      const { sandbox, receiver } = await start({});
      expect(await setSandboxChaos(sandbox.baseUrl, { outOfOrder: true })).toEqual({
        duplicates: false,
        outOfOrder: true,
        delaySeconds: 0,
      });
      const session = await openSession(sandbox);
      await payWithCard(session.url!, { number: TEST_CARDS.success });
      const received = await receiver.waitForCount(4);
      expect(received.map((r) => r.event.type)).toEqual([
        'checkout.session.completed',
        'payment_intent.succeeded',
        'charge.succeeded',
        'payment_intent.created',
      ]);
    });

    it('out of order with a delay: a failed settlement arrives before the completion it follows', async () => {
      const { sandbox, receiver } = await start({
        SANDBOX_CHAOS: 'out_of_order',
        SANDBOX_CHAOS_DELAY_SECONDS: '3600',
        SANDBOX_SETTLEMENT_SECONDS: '60',
      });
      const session = await openSession(sandbox);
      expect((await payByBank(session.url!, TEST_BANK_ACCOUNTS.accountClosed)).status).toBe(303);
      await advanceSandboxClock(sandbox.baseUrl, 60);
      const held = await sandboxEvents(sandbox.baseUrl);
      expect(held.map((e) => e.type)).toContain('checkout.session.async_payment_failed');
      expect(held.every((e) => e.deliveries.length === 0)).toBe(true);

      await advanceSandboxClock(sandbox.baseUrl, 3600);
      const received = await receiver.waitForCount(held.length);
      const order = received.map((r) => r.event.type);
      expect(order.indexOf('checkout.session.async_payment_failed')).toBeLessThan(
        order.indexOf('checkout.session.completed'),
      );
      expect(order).toEqual(held.map((e) => e.type).reverse());
    });

    it('delay: nothing is delivered until the delay has passed', async () => {
      const { sandbox, receiver } = await start({ SANDBOX_CHAOS_DELAY_SECONDS: '600' });
      await sandbox.stripe.checkout.sessions.expire((await openSession(sandbox)).id);
      const [event] = await sandboxEvents(sandbox.baseUrl);
      expect(event.deliveries).toEqual([]);
      await advanceSandboxClock(sandbox.baseUrl, 599);
      expect((await sandboxEvents(sandbox.baseUrl))[0].deliveries).toEqual([]);
      await advanceSandboxClock(sandbox.baseUrl, 1);
      const [delivered] = await receiver.waitForCount(1);
      expect(delivered.event.id).toBe(event.id);
    });

    it('refuses a malformed switch value', async () => {
      const { sandbox } = await start({});
      const response = await fetch(`${sandbox.baseUrl}/_sandbox/chaos`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ delaySeconds: -1 }),
      });
      expect(response.status).toBe(400);
      expect(await response.json()).toMatchObject({ error: { param: 'delaySeconds' } });
    });
  });
});
