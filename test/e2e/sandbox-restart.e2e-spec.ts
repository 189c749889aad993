import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import { createTestApp, type TestApp } from '../support/app';
import { placeOrder, type PlacedOrderBody } from '../support/factories';
import { orderRow, startCheckout } from '../support/payments';
import {
  advanceSandboxClock,
  openCheckoutPage,
  payByBank,
  payWithCard,
  sandboxEvents,
  sandboxStripe,
  startSandboxProcess,
  startWebhookReceiver,
  TEST_CARDS,
} from '../support/sandbox';
import { freePort, type ServiceProcess } from '../support/service-process';
import { waitFor } from '../support/wait';

/*
 * The sandbox's state survives a restart: a bank payment in flight settles and its webhook arrives,
 * a delivery that failed is retried on its schedule, an open session's page still works, an old
 * success page still confirms, idempotency keys and the test clock are kept. In-process (the service
 * restarted, its sandbox kept in the service's database) and standalone (`node dist/sandbox/main.js`
 * restarted, its state in PGlite under DATA_DIR). `POST /_sandbox/reset` starts it empty, for good.
 */

/**
 * Forwards webhook deliveries to `target()`, except that it answers 503 to the first arrival of each
 * event `failFirst` picks (the service's endpoint failing once, as Stripe sees it).
 */
async function startFlakyProxy(
  target: () => string,
  failFirst: (event: { type: string; data: { object: { id: string } } }) => boolean,
) {
  const arrivals = new Map<string, number>();
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const event = JSON.parse(body.toString('utf8')) as Parameters<typeof failFirst>[0] & { id: string };
      const arrival = (arrivals.get(event.id) ?? 0) + 1;
      arrivals.set(event.id, arrival);
      if (arrival === 1 && failFirst(event)) return void res.writeHead(503).end();
      fetch(target(), {
        method: 'POST',
        headers: {
          'Content-Type': 'application/json',
          'Stripe-Signature': String(req.headers['stripe-signature']),
        },
        body,
      }).then(
        async (response) => res.writeHead(response.status).end(await response.text()),
        () => res.writeHead(502).end(),
      );
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    url: `http://127.0.0.1:${(server.address() as { port: number }).port}/webhooks`,
    arrivals,
    close: async () => {
      server.closeAllConnections();
      server.close();
      await once(server, 'close');
    },
  };
}

describe('Sandbox restart, inside the service (state in the service database)', () => {
  let t: TestApp | undefined;
  let proxy: Awaited<ReturnType<typeof startFlakyProxy>>;
  let env: Record<string, string>;
  let sandboxUrl: string;
  /** The session whose checkout.session.completed the endpoint refuses once. */
  let failingSession = '';

  beforeAll(async () => {
    const port = await freePort();
    const sandboxPort = await freePort();
    sandboxUrl = `http://127.0.0.1:${sandboxPort}`;
    proxy = await startFlakyProxy(
      () => `http://127.0.0.1:${port}/api/webhooks/stripe`,
      (event) => event.type === 'checkout.session.completed' && event.data.object.id === failingSession,
    );
    env = {
      PORT: String(port),
      SANDBOX_PORT: String(sandboxPort),
      SANDBOX_WEBHOOK_URL: proxy.url,
      SANDBOX_SETTLEMENT_SECONDS: '3600',
      SANDBOX_RETRY_SCHEDULE: '1800',
    };
  });
  afterAll(async () => {
    await t?.close();
    await proxy.close();
  });

  const restart = async () => {
    await t?.close();
    t = await createTestApp({ listen: true, env });
    return t;
  };
  const statusOf = async (order: PlacedOrderBody) => (await orderRow(t!, order.id)).status;
  const statusBecomes = (order: PlacedOrderBody, status: string) =>
    waitFor(async () => (await statusOf(order)) === status, `order ${order.id} to be ${status}`);

  it('a bank payment in flight and a failed delivery complete after a restart; pages and confirmations still work', async () => {
    await restart();
    // A bank payment: submitted, its checkout.session.completed refused once by the endpoint.
    const bank = await placeOrder(t!);
    const bankCheckout = await startCheckout(t!, bank);
    failingSession = bankCheckout.sessionId;
    expect((await payByBank(bankCheckout.url)).status).toBe(303);
    const completed = await waitFor(
      async () =>
        (await sandboxEvents(sandboxUrl)).find(
          (e) =>
            e.type === 'checkout.session.completed' &&
            e.objectId === bankCheckout.sessionId &&
            e.deliveries[0]?.attempts.length === 1,
        ),
      'the first, failed delivery of checkout.session.completed',
    );
    expect(completed.deliveries[0]).toMatchObject({ status: 'pending', attempts: [{ statusCode: 503 }] });
    expect(await statusOf(bank)).toBe('pending');

    // A card payment whose customer will come back to the success page after the restart.
    const card = await placeOrder(t!);
    const cardCheckout = await startCheckout(t!, card);
    expect((await payWithCard(cardCheckout.url, { number: TEST_CARDS.success })).status).toBe(303);
    // An open session, not paid yet.
    const open = await placeOrder(t!);
    const openCheckout = await startCheckout(t!, open);

    await restart();

    const page = await openCheckoutPage(openCheckout.url);
    expect(page.status).toBe(200);
    expect(page.html).toContain('<form');
    expect((await payWithCard(openCheckout.url, { number: TEST_CARDS.success })).status).toBe(303);
    await statusBecomes(open, 'paid');
    const confirmed = await request(t!.http())
      .post(`/api/orders/${card.id}/checkout/confirm`)
      .set('Authorization', `Bearer ${card.accessToken}`)
      .send({ sessionId: cardCheckout.sessionId })
      .expect(200);
    expect(confirmed.body.status).toBe('paid');

    // The retry (due in 1800 s) and the settlement (3600 s) come when their time comes.
    await advanceSandboxClock(sandboxUrl, 1800);
    await statusBecomes(bank, 'processing');
    await advanceSandboxClock(sandboxUrl, 1800);
    await statusBecomes(bank, 'paid');
    const events = (await sandboxEvents(sandboxUrl)).filter((e) => e.objectId === bankCheckout.sessionId);
    expect(events.map((e) => e.type)).toEqual([
      'checkout.session.completed',
      'checkout.session.async_payment_succeeded',
    ]);
    expect(events[0].deliveries[0]).toMatchObject({
      status: 'succeeded',
      attempts: [{ statusCode: 503 }, { statusCode: 200 }],
    });
  });
});

describe('Sandbox restart, standalone (node dist/sandbox/main.js, PGlite under DATA_DIR)', () => {
  let dataDir: string;
  let sandbox: ServiceProcess | undefined;
  let receiver: Awaited<ReturnType<typeof startWebhookReceiver>>;
  let env: Record<string, string>;

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'sandbox-restart-'));
    // The first arrival of each event fails; every retry succeeds.
    receiver = await startWebhookReceiver({ respond: (_event, arrival) => (arrival === 1 ? 500 : 200) });
    env = {
      DATABASE_URL: '',
      DATA_DIR: dataDir,
      SANDBOX_PORT: String(await freePort()),
      SANDBOX_WEBHOOK_URL: receiver.url,
      SANDBOX_SETTLEMENT_SECONDS: '3600',
      SANDBOX_RETRY_SCHEDULE: '1800',
    };
  });
  afterAll(async () => {
    await sandbox?.stop();
    await receiver.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  const restart = async () => {
    await sandbox?.stop();
    sandbox = await startSandboxProcess(env);
    return sandbox.url;
  };
  const line = { price_data: { currency: 'usd', unit_amount: 2450, product_data: { name: 'Beans' } }, quantity: 1 }; // prettier-ignore
  const newSession = (orderId: string) => ({
    mode: 'payment' as const,
    line_items: [line],
    success_url: 'http://localhost:3000/checkout/success?session_id={CHECKOUT_SESSION_ID}',
    client_reference_id: orderId,
    expires_at: Math.floor(Date.now() / 1000) + 24 * 3600,
  });

  it('keeps sessions, payments, deliveries awaiting a retry, idempotency keys and the clock', async () => {
    let url = await restart();
    let stripe = sandboxStripe(url);
    const bankParams = newSession('bank-order');
    const bank = await stripe.checkout.sessions.create(bankParams, { idempotencyKey: 'checkout:bank:1' });
    expect((await payByBank(bank.url!)).status).toBe(303);
    const open = await stripe.checkout.sessions.create(newSession('open-order'));
    // payment_intent.created, payment_intent.processing, charge.pending, checkout.session.completed: each refused once
    await receiver.waitForCount(4);
    await advanceSandboxClock(url, 60);

    url = await restart();
    stripe = sandboxStripe(url);
    expect((await (await fetch(`${url}/_sandbox/clock`)).json()) as object).toMatchObject({
      advancedSeconds: 60,
    });
    const replayed = await stripe.checkout.sessions.create(bankParams, { idempotencyKey: 'checkout:bank:1' });
    expect(replayed.id).toBe(bank.id);
    expect(replayed.lastResponse.headers['idempotent-replayed']).toBe('true');
    expect((await stripe.checkout.sessions.retrieve(bank.id)).status).toBe('complete');
    expect((await openCheckoutPage(open.url!)).status).toBe(200);

    await advanceSandboxClock(url, 1800); // the retries
    const retried = await receiver.waitForCount(8);
    expect(retried.slice(4).map((r) => [r.event.type, r.answered])).toEqual([
      ['payment_intent.created', 200],
      ['payment_intent.processing', 200],
      ['charge.pending', 200],
      ['checkout.session.completed', 200],
    ]);
    await advanceSandboxClock(url, 1800); // the settlement
    const settled = await receiver.waitForCount(9);
    expect(settled[8].event).toMatchObject({ type: 'charge.succeeded' });
    const succeeded = await stripe.checkout.sessions.retrieve(bank.id, { expand: ['payment_intent'] });
    expect(succeeded).toMatchObject({ payment_status: 'paid', payment_intent: { status: 'succeeded' } });

    // Reset: empty now, and still empty after another restart.
    const reset = await fetch(`${url}/_sandbox/reset`, { method: 'POST' });
    expect(reset.status).toBe(200);
    expect((await stripe.checkout.sessions.list()).data).toEqual([]);
    url = await restart();
    stripe = sandboxStripe(url);
    expect((await stripe.checkout.sessions.list()).data).toEqual([]);
    expect(await sandboxEvents(url)).toEqual([]);
    expect((await openCheckoutPage(open.url!)).status).toBe(404);
  });
});
