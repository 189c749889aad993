import { Agent, get as httpGet } from 'node:http';
import type { Socket } from 'node:net';
import { Client } from 'pg';
import { stubStripeEnv } from '../support/payments';
import { callService, catalog, placeOrderAt } from '../support/service-api';
import { type ServiceProcess, startService } from '../support/service-process';
import { StripeStub } from '../support/stripe-stub';
import { waitFor } from '../support/wait';

/** GET over a keep-alive agent; resolves with the status and the socket left open for reuse. */
function keepAliveGet(url: string, agent: Agent): Promise<{ status: number; socket: Socket }> {
  return new Promise((resolve, reject) => {
    const req = httpGet(url, { agent }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode!, socket: req.socket! }));
    });
    req.on('error', reject);
  });
}

/**
 * SIGTERM under keep-alive traffic, on `node dist/main.js`: no new connections, idle keep-alive
 * connections closed, requests in flight finish (or are cut at SHUTDOWN_TIMEOUT_SECONDS), then exit.
 * A checkout in flight is the slow request: the Stripe stub keeps its first call waiting.
 */
describe('Graceful shutdown', () => {
  const stub = new StripeStub();
  let db: Client;
  let service: ServiceProcess | undefined;

  beforeAll(async () => {
    await stub.start();
    db = new Client({ connectionString: process.env.DATABASE_URL });
    await db.connect();
  });
  afterAll(async () => {
    await service?.stop();
    await stub.stop();
    await db.end();
  });
  beforeEach(() => stub.reset());

  const sessionOf = async (orderId: string) =>
    (
      await db.query<{ session_id: string | null }>(`select session_id from payments where order_id = $1`, [
        orderId,
      ])
    ).rows[0]?.session_id ?? null;

  it('finishes the request in flight (its 2xx is committed), closes idle keep-alive connections, refuses new ones, exits', async () => {
    service = await startService({
      ...stubStripeEnv(stub),
      STRIPE_TIMEOUT_MS: '3000',
      SHUTDOWN_TIMEOUT_SECONDS: '10',
    });
    const { url } = service;
    const agent = new Agent({ keepAlive: true, maxSockets: 2 });
    const idle = await keepAliveGet(`${url}/api/health`, agent);
    expect(idle.status).toBe(200);
    const idleClosed = new Promise((resolve) => idle.socket.once('close', resolve));

    const [product] = await catalog(url);
    const order = await placeOrderAt(url, product.id);
    stub.hangNext(); // the first call to Stripe waits; the SDK's retry after STRIPE_TIMEOUT_MS succeeds
    const inFlight = callService<{ sessionId: string }>(
      'POST',
      `${url}/api/orders/${order.id}/checkout`,
      undefined,
      {
        Authorization: `Bearer ${order.accessToken}`,
      },
    );
    await waitFor(() => stub.creations().length === 1, 'the checkout to reach Stripe');

    service.kill('SIGTERM');
    await idleClosed;
    await waitFor(
      () =>
        fetch(`${url}/api/health`).then(
          () => false,
          () => true,
        ),
      'new connections to be refused',
    );
    const answered = await inFlight;
    expect(answered.status).toBe(201);
    expect(answered.headers.get('connection')).toBe('close');
    expect(await sessionOf(order.id)).toBe(answered.body.sessionId);
    const exit = await service.exited;
    expect(exit.code === 0 || exit.signal === 'SIGTERM').toBe(true);
    agent.destroy();
  }, 60_000);

  it('cuts a request still running at SHUTDOWN_TIMEOUT_SECONDS, with no 2xx, and exits', async () => {
    service = await startService({
      ...stubStripeEnv(stub),
      STRIPE_TIMEOUT_MS: '20000',
      SHUTDOWN_TIMEOUT_SECONDS: '1',
    });
    const { url } = service;
    const [product] = await catalog(url);
    const order = await placeOrderAt(url, product.id);
    stub.hangNext();
    const inFlight = callService('POST', `${url}/api/orders/${order.id}/checkout`, undefined, {
      Authorization: `Bearer ${order.accessToken}`,
    }).then(
      (response) => response.status,
      () => 'cut',
    );
    await waitFor(() => stub.creations().length === 1, 'the checkout to reach Stripe');
    service.kill('SIGTERM');
    expect(await inFlight).toBe('cut');
    const exit = await service.exited;
    expect(exit.code !== null || exit.signal !== null).toBe(true);
    expect(await sessionOf(order.id)).toBeNull(); // nothing was reported as done
  }, 60_000);
});
