import { Client } from 'pg';
import request from 'supertest';
import { createTestApp, type TestApp } from '../support/app';
import { placeOrder, type PlacedOrderBody } from '../support/factories';
import { PrivateRedis } from '../support/redis-server';
import { freePort, type ServiceProcess, startService } from '../support/service-process';
import { OrdersClient } from '../support/sockets';
import { TcpProxy } from '../support/tcp-proxy';
import { waitFor } from '../support/wait';

/**
 * Several instances behind one PostgreSQL and one Redis. These tests run the built service
 * (`npm run build` first; `npm test` does it) as child processes.
 */
jest.setTimeout(120_000);

/**
 * How long a test waits for a push: generous, since the machine may be loaded (the push itself
 * comes in milliseconds; time is never what is asserted).
 */
const PUSH_WAIT_MS = 30_000;

const CONNECTED = 'Redis connected';
const UNAVAILABLE = 'Redis unavailable';

/** How many log lines of `service` contain `text`. */
function logLines(service: ServiceProcess, text: string): number {
  return service
    .output()
    .split('\n')
    .filter((line) => line.includes(text)).length;
}

/** Waits until `service` has logged `text` at least `times` times. */
async function logged(service: ServiceProcess, text: string, times = 1, timeoutMs = 20_000): Promise<void> {
  await waitFor(() => logLines(service, text) >= times, `${times}× "${text}" in the log`, timeoutMs, 50);
}

/** The REST API of a running instance. */
function api(service: ServiceProcess) {
  const json = async <T>(path: string, init: RequestInit = {}, expected = 200): Promise<T> => {
    const response = await fetch(`${service.url}${path}`, {
      ...init,
      headers: { 'Content-Type': 'application/json', ...init.headers },
    });
    const body = (await response.json()) as T;
    if (response.status !== expected) {
      throw new Error(`${path}: ${response.status} ${JSON.stringify(body)}`);
    }
    return body;
  };
  return {
    async placeOrder(): Promise<PlacedOrderBody> {
      const products = await json<{ id: string; sku: string }[]>('/api/products');
      const beans = products.find((p) => p.sku === 'BEANS-250')!;
      return json(
        '/api/orders',
        {
          method: 'POST',
          body: JSON.stringify({
            customerEmail: 'buyer@example.com',
            items: [{ productId: beans.id, quantity: 1 }],
          }),
        },
        201,
      );
    },
    getOrder(order: PlacedOrderBody): Promise<{ status: string }> {
      return json(`/api/orders/${order.id}`, { headers: { Authorization: `Bearer ${order.accessToken}` } });
    },
    cancel(order: PlacedOrderBody): Promise<{ status: string }> {
      return json(`/api/orders/${order.id}/cancel`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${order.accessToken}` },
      });
    },
  };
}

async function startInstance(redisUrl: string): Promise<ServiceProcess> {
  // Each instance gets its own sandbox port, so that instances (and other engineers' tests) never collide.
  return startService({ REDIS_URL: redisUrl, SANDBOX_PORT: String(await freePort()) });
}

const follow = (service: ServiceProcess, order: PlacedOrderBody) =>
  OrdersClient.connect(service.url, { orderId: order.id, token: order.accessToken });

describe('Live status across instances (Redis adapter)', () => {
  const services: ServiceProcess[] = [];
  const clients: OrdersClient[] = [];
  afterEach(async () => {
    for (const client of clients.splice(0)) client.close();
    await Promise.all(services.splice(0).map((service) => service.stop()));
  });

  const instance = async (redisUrl: string) => {
    const service = await startInstance(redisUrl);
    services.push(service);
    return service;
  };
  const client = async (service: ServiceProcess, order: PlacedOrderBody) => {
    const connected = await follow(service, order);
    clients.push(connected);
    return connected;
  };

  it('pushes to a client of instance A a change that instance B processed', async () => {
    const [a, b] = await Promise.all([
      instance('redis://127.0.0.1:6379'),
      instance('redis://127.0.0.1:6379'),
    ]);
    await Promise.all([logged(a, CONNECTED), logged(b, CONNECTED)]);

    const order = await api(b).placeOrder();
    const onA = await client(a, order);
    await onA.heard(order.id, 'pending', PUSH_WAIT_MS);

    await api(b).cancel(order);

    expect(await onA.heard(order.id, 'canceled', PUSH_WAIT_MS)).toMatchObject({
      reason: 'Canceled by the customer',
    });
    expect(onA.statuses.map((m) => [m.orderId, m.status])).toEqual([
      [order.id, 'pending'],
      [order.id, 'canceled'],
    ]);
  });

  describe('when Redis goes away and comes back', () => {
    let redis: PrivateRedis;
    beforeAll(async () => {
      redis = await PrivateRedis.start();
    });
    afterAll(() => redis.stop());

    it('keeps REST and local pushes working, boots without it, and carries broadcasts again once it returns', async () => {
      const a = await instance(redis.url);
      await logged(a, CONNECTED);

      // Redis dies.
      await redis.stop();
      await logged(a, UNAVAILABLE);

      // An instance starts while Redis is down, and serves.
      const b = await instance(redis.url);
      await logged(b, UNAVAILABLE);

      // REST works on both, against the same database.
      const local = await api(b).placeOrder();
      expect(await api(a).getOrder(local)).toMatchObject({ status: 'pending' });

      // A change made on A reaches A's own clients.
      const onA = await client(a, local);
      await onA.heard(local.id, 'pending', PUSH_WAIT_MS);
      expect(await api(a).cancel(local)).toMatchObject({ status: 'canceled' });
      await onA.heard(local.id, 'canceled', PUSH_WAIT_MS);

      // A change made on B meanwhile is committed; A's client cannot hear of it yet.
      const missed = await api(a).placeOrder();
      const missedOnA = await client(a, missed);
      await missedOnA.heard(missed.id, 'pending', PUSH_WAIT_MS);
      expect(await api(b).cancel(missed)).toMatchObject({ status: 'canceled' });

      // Redis returns on the same address: both instances reconnect on their own.
      await redis.start();
      await Promise.all([logged(a, CONNECTED, 2), logged(b, CONNECTED)]);

      // The client that missed the push gets the current status when it re-subscribes.
      expect(await missedOnA.subscribe({ orderId: missed.id, token: missed.accessToken })).toMatchObject({
        ok: true,
        order: { status: 'canceled' },
      });

      // Cross-instance pushes work again.
      const order = await api(b).placeOrder();
      const again = await client(a, order);
      await again.heard(order.id, 'pending', PUSH_WAIT_MS);
      await api(b).cancel(order);
      await again.heard(order.id, 'canceled', PUSH_WAIT_MS);

      // Each change of the link was logged once, however many retries it took.
      expect([logLines(a, UNAVAILABLE), logLines(a, CONNECTED)]).toEqual([1, 2]);
      expect([logLines(b, UNAVAILABLE), logLines(b, CONNECTED)]).toEqual([1, 1]);
    });

    it('brings the followers of an instance up to date when its own link returns, for pushes that went out meanwhile', async () => {
      // A reaches Redis through a relay the test cuts: B keeps its link, A loses its own.
      const relay = await TcpProxy.start(redis.port);
      const db = new Client({ connectionString: process.env.DATABASE_URL });
      await db.connect();
      try {
        const a = await instance(`redis://127.0.0.1:${relay.port}`);
        const b = await instance(redis.url);
        await Promise.all([logged(a, CONNECTED), logged(b, CONNECTED)]);
        const order = await api(b).placeOrder();
        const onA = await client(a, order);
        await onA.heard(order.id, 'pending', PUSH_WAIT_MS);

        await relay.cut();
        await logged(a, UNAVAILABLE);
        // B is linked: it publishes the push, and as far as it can tell the push is delivered. A,
        // cut off, is not listening.
        expect(await api(b).cancel(order)).toMatchObject({ status: 'canceled' });
        await waitFor(
          async () =>
            (
              await db.query<{ status: string }>(
                `select d.status from outbox_deliveries d join outbox_events e on e.id = d.event_id
                  where d.subscriber = 'notifications.push-status' and e.payload->>'orderId' = $1
                    and e.payload->>'status' = 'canceled'`,
                [order.id],
              )
            ).rows[0]?.status === 'delivered',
          'B to deliver the push of the cancellation',
          30_000,
          100,
        );
        expect(onA.statuses.map((message) => message.status)).toEqual(['pending']);

        // A's link returns: its client hears the current status without asking again.
        await relay.restore();
        await logged(a, CONNECTED, 2);
        expect(await onA.heard(order.id, 'canceled', PUSH_WAIT_MS)).toMatchObject({
          reason: 'Canceled by the customer',
        });
        await logged(a, 'Live status re-sent after Redis returned');
      } finally {
        await db.end();
        await relay.cut();
      }
    });
  });
});

describe('The Redis adapter in one process', () => {
  let redis: PrivateRedis;
  beforeAll(async () => {
    redis = await PrivateRedis.start();
  });
  afterAll(() => redis.stop());

  it('connects a publisher and a subscriber, and closes both on shutdown', async () => {
    const t: TestApp = await createTestApp({ listen: true, env: { REDIS_URL: redis.url } });
    let closed = false;
    try {
      const order = await placeOrder(t);
      const client = await OrdersClient.connect(await t.app.getUrl(), {
        orderId: order.id,
        token: order.accessToken,
      });
      await client.heard(order.id, 'pending');
      client.close();
      await waitFor(async () => (await redis.clientNames()).length === 2, 'both Redis clients connected');
      expect((await redis.clientNames()).sort()).toEqual(['socket.io-pub', 'socket.io-sub']);

      await t.close();
      closed = true;
      expect(await redis.clientNames()).toEqual([]);
    } finally {
      if (!closed) await t.close();
    }
  });

  it('starts and pushes locally with Redis unreachable, and shuts down without waiting for it', async () => {
    const t: TestApp = await createTestApp({
      listen: true,
      env: { REDIS_URL: `redis://127.0.0.1:${await freePort()}` },
    });
    try {
      const order = await placeOrder(t);
      const client = await OrdersClient.connect(await t.app.getUrl(), {
        orderId: order.id,
        token: order.accessToken,
      });
      await client.heard(order.id, 'pending');
      await request(t.http())
        .post(`/api/orders/${order.id}/cancel`)
        .set('Authorization', `Bearer ${order.accessToken}`)
        .expect(200);
      await client.heard(order.id, 'canceled');
      client.close();
    } finally {
      await t.close();
    }
  });
});
