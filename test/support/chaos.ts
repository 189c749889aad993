import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Pool } from 'pg';
import { SANDBOX_SECRET_KEY } from '../../src/config';
import type { PlacedOrderBody } from './factories';
import { PrivatePostgres } from './private-postgres';
import { PrivateRedis } from './redis-server';
import {
  advanceSandboxClock,
  payByBank,
  payWithCard,
  startSandboxProcess,
  TEST_BANK_ACCOUNTS,
  TEST_CARDS,
} from './sandbox';
import { catalog } from './service-api';
import { freePort, type ServiceProcess, startService } from './service-process';
import { OrdersClient } from './sockets';
import { WEBHOOK_SECRET } from './stripe-signature';
import { waitFor } from './wait';

export type Story = 'paid' | 'declined_then_paid' | 'bank_settled' | 'bank_failed' | 'expired' | 'canceled';
const STORIES: Story[] = ['paid', 'declined_then_paid', 'bank_settled', 'bank_failed', 'expired', 'canceled'];

/** What each story must end as: the status, and the exact status transitions in the order's history. */
export const EXPECTED: Record<Story, { status: string; transitions: string[] }> = {
  paid: { status: 'paid', transitions: ['∅→pending', 'pending→paid'] },
  declined_then_paid: { status: 'paid', transitions: ['∅→pending', 'pending→failed', 'failed→paid'] },
  bank_settled: { status: 'paid', transitions: ['∅→pending', 'pending→processing', 'processing→paid'] },
  bank_failed: { status: 'failed', transitions: ['∅→pending', 'pending→processing', 'processing→failed'] },
  expired: { status: 'failed', transitions: ['∅→pending', 'pending→failed'] },
  canceled: { status: 'canceled', transitions: ['∅→pending', 'pending→canceled'] },
};

export interface ChaosReport {
  orders: number;
  clients: number;
  eventsDelivered: number;
  duplicatesAbsorbed: number;
  redeliveries: number;
  failedFirstDeliveries: number;
  outboxRetries: number;
  mismatches: string[];
  lost: string[];
  doubled: string[];
  clientsWrong: string[];
  faults: string[];
  seconds: number;
}

interface Tracked {
  story: Story;
  order: PlacedOrderBody;
  sessionUrl: string;
  client?: OrdersClient;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Runs `work` over `items`, `concurrency` at a time. */
async function pool<T>(
  items: T[],
  concurrency: number,
  work: (item: T, index: number) => Promise<void>,
): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < items.length) {
        const index = next++;
        await work(items[index], index);
      }
    }),
  );
}

/**
 * The chaos run of issue "durable effects": two service instances (`node dist/main.js`) on one
 * PostgreSQL (a private cluster, restarted once during the run) and one Redis (a private server,
 * stopped for 10 s), the standalone sandbox delivering webhooks through a round-robin proxy with
 * duplicates, out-of-order delivery and 5% of first deliveries failing; one instance is SIGKILLed
 * and started again. Every order follows one of six stories through the sandbox's checkout page.
 */
export async function runChaos(
  orders: number,
  log: (line: string) => void = () => undefined,
): Promise<ChaosReport> {
  const started = Date.now();
  const faults: string[] = [];
  const pg = await PrivatePostgres.start('chaos_test');
  const redis = await PrivateRedis.start();
  const dataDir = mkdtempSync(join(tmpdir(), 'chaos-sandbox-'));
  const ports = [await freePort(), await freePort()];
  const instances: (ServiceProcess | undefined)[] = [undefined, undefined];
  const { WebhookProxy } = await import('./webhook-proxy');
  const proxy = await WebhookProxy.start(() => ports.map((port) => `http://127.0.0.1:${port}`), 5);
  let sandbox: ServiceProcess | undefined;
  // A pool: its connections die with each PostgreSQL restart, and it opens new ones.
  const db = new Pool({ connectionString: pg.url, max: 4 });
  db.on('error', () => undefined);
  const tracked: Tracked[] = [];
  try {
    sandbox = await startSandboxProcess({
      DATABASE_URL: '',
      DATA_DIR: dataDir,
      STRIPE_WEBHOOK_SECRET: WEBHOOK_SECRET,
      SANDBOX_WEBHOOK_URL: proxy.url,
      SANDBOX_RETRY_SCHEDULE: '1,1,2,3,5,8,13,21,30,60',
      SANDBOX_WEBHOOK_TIMEOUT_SECONDS: '10',
      SANDBOX_CHAOS: 'duplicates,out_of_order',
      SANDBOX_CHAOS_DELAY_SECONDS: '0.5',
      SANDBOX_SETTLEMENT_SECONDS: '600',
      LOG_LEVEL: 'warn',
    });
    const serviceEnv = (port: number) => ({
      PORT: String(port),
      DATABASE_URL: pg.url,
      REDIS_URL: redis.url,
      STRIPE_SECRET_KEY: SANDBOX_SECRET_KEY,
      STRIPE_WEBHOOK_SECRET: WEBHOOK_SECRET,
      STRIPE_API_HOST: '127.0.0.1',
      STRIPE_API_PORT: String(sandbox!.port),
      STRIPE_API_PROTOCOL: 'http',
      PUBLIC_URL: 'https://shop.example.com',
      RATE_LIMIT_PER_MINUTE: '0',
      SOCKET_MAX_CONNECTIONS_PER_IP: '100000',
      SOCKET_MESSAGES_PER_MINUTE: '100000',
      OUTBOX_RETRY_SCHEDULE: '0.5,1,2,3,5,8,13,21,30,60',
      OUTBOX_LEASE_SECONDS: '5',
      LOG_LEVEL: 'warn',
    });
    const start = async (i: number) => {
      instances[i] = await startService(serviceEnv(ports[i]), 120_000);
    };
    await Promise.all([start(0), start(1)]);
    const urls = () => ports.map((port) => `http://127.0.0.1:${port}`);

    /** An API call as a careful client makes it: an Idempotency-Key, and retries (for up to ~100 s: a request in flight on a killed instance holds its key for 30 s) on the other instance. */
    let apiRetries = 0;
    const api = async <T>(
      method: string,
      path: string,
      body?: object,
      token?: string,
    ): Promise<{ status: number; body: T }> => {
      const key = randomUUID();
      for (let attempt = 0; ; attempt++) {
        const url = urls()[attempt % 2];
        try {
          const response = await fetch(`${url}${path}`, {
            method,
            headers: {
              'Idempotency-Key': key,
              ...(body ? { 'Content-Type': 'application/json' } : {}),
              ...(token ? { Authorization: `Bearer ${token}` } : {}),
            },
            body: body ? JSON.stringify(body) : undefined,
            signal: AbortSignal.timeout(20_000),
          });
          const text = await response.text();
          if ((response.status >= 500 || response.status === 409) && attempt < 240) {
            if (response.status !== 409 || text.includes('IDEMPOTENCY.IN_FLIGHT')) {
              apiRetries++;
              await sleep(400);
              continue;
            }
          }
          return { status: response.status, body: JSON.parse(text) as T };
        } catch (error) {
          if (attempt >= 240) throw error;
          apiRetries++;
          await sleep(400);
        }
      }
    };

    const productId = (await catalog(urls()[0])).find((p) => p.currency === 'usd')!.id;
    const statusOf = async (orderId: string) =>
      (
        await db
          .query<{ status: string }>('select status from orders where id = $1', [orderId])
          .catch(() => ({ rows: [] }))
      ).rows[0]?.status;

    // Phase A: orders and their checkout sessions, and a live-status client for (up to 1,000) orders.
    log(`placing ${orders} orders`);
    await pool(
      Array.from({ length: orders }, (_, i) => i),
      12,
      async (i) => {
        const placed = await api<PlacedOrderBody>('POST', '/api/orders', {
          customerEmail: `buyer${i}@example.com`,
          items: [{ productId, quantity: 1 + (i % 3) }],
        });
        if (placed.status !== 201)
          throw new Error(`order ${i}: ${placed.status} ${JSON.stringify(placed.body)}`);
        const order = placed.body;
        const checkout = await api<{ url: string }>(
          'POST',
          `/api/orders/${order.id}/checkout`,
          undefined,
          order.accessToken,
        );
        if (checkout.status !== 201)
          throw new Error(`checkout ${i}: ${checkout.status} ${JSON.stringify(checkout.body)}`);
        const entry: Tracked = { story: STORIES[i % STORIES.length], order, sessionUrl: checkout.body.url };
        if (i < 1000) {
          entry.client = await OrdersClient.connect(
            urls()[i % 2],
            { orderId: order.id, token: order.accessToken },
            {
              reconnection: true,
              reconnectionDelay: 200,
              reconnectionDelayMax: 1000,
              transports: ['websocket'],
            },
          );
        }
        tracked[i] = entry;
      },
    );

    // Phase B: customers act on the checkout page, while the faults happen.
    log('paying, with faults');
    let done = 0;
    const chaos = (async () => {
      const at = async (share: number) =>
        waitFor(() => done >= orders * share, `${share * 100}% of the stories`, 600_000, 50);
      await at(0.15);
      faults.push('PostgreSQL restarted');
      log('fault: restarting PostgreSQL');
      await pg.restart();
      await at(0.4);
      faults.push('instance A SIGKILLed and started again');
      log('fault: SIGKILL instance A');
      instances[0]!.kill('SIGKILL');
      await instances[0]!.exited;
      await sleep(1000);
      await start(0);
      await at(0.6);
      faults.push('Redis stopped for 10 s');
      log('fault: Redis down for 10 s');
      await redis.stop();
      await sleep(10_000);
      await redis.start();
    })();
    await pool(tracked, 12, async (entry) => {
      const { story, order, sessionUrl } = entry;
      switch (story) {
        case 'paid':
          await payWithCard(sessionUrl, { number: TEST_CARDS.success });
          break;
        case 'declined_then_paid':
          await payWithCard(sessionUrl, { number: TEST_CARDS.genericDecline });
          // The customer sees the decline (the page, and the order turning failed), then pays.
          await waitFor(
            async () => (await statusOf(order.id)) === 'failed',
            `order ${order.id} failed`,
            300_000,
            200,
          );
          await payWithCard(sessionUrl, { number: TEST_CARDS.success });
          break;
        case 'bank_settled':
          await payByBank(sessionUrl, TEST_BANK_ACCOUNTS.settles);
          break;
        case 'bank_failed':
          await payByBank(sessionUrl, TEST_BANK_ACCOUNTS.accountClosed);
          break;
        case 'expired':
          break;
        case 'canceled': {
          const canceled = await api('POST', `/api/orders/${order.id}/cancel`, undefined, order.accessToken);
          if (canceled.status !== 200) {
            throw new Error(`cancel ${order.id}: ${canceled.status} ${JSON.stringify(canceled.body)}`);
          }
          break;
        }
      }
      done++;
    });
    await chaos;

    // Phase C: once the bank payments are processing, the clock passes settlement and expiry.
    log('waiting for bank payments to be processing');
    const waitAll = async (what: string, check: (entry: Tracked) => Promise<boolean>) => {
      await waitFor(
        async () => {
          for (const entry of tracked) if (!(await check(entry))) return false;
          return true;
        },
        what,
        600_000,
        500,
      );
    };
    await waitAll('bank payments processing', async ({ story, order }) =>
      story === 'bank_settled' || story === 'bank_failed'
        ? (await statusOf(order.id)) === 'processing'
        : true,
    );
    log('advancing the sandbox clock past settlement and expiry');
    await advanceSandboxClock(sandbox.url, 36 * 60);

    // Phase D: every order ends as its story says; the outbox drains; every client heard the end.
    log('waiting for every order to reach its end');
    const settled = await waitFor(
      async () => {
        const { rows } = await db.query<{ id: string; status: string }>('select id, status from orders');
        const status = new Map(rows.map((row) => [row.id, row.status]));
        return (
          tracked.every((entry) => status.get(entry.order.id) === EXPECTED[entry.story].status) || undefined
        );
      },
      'every order in its final state',
      Math.max(300_000, orders * 200),
      1000,
    ).catch(() => false);
    log(settled ? 'all orders final' : 'some orders never got there');
    await waitFor(
      async () =>
        Number(
          (await db.query(`select count(*) from outbox_deliveries where status = 'pending'`)).rows[0].count,
        ) === 0,
      'the outbox to drain',
      120_000,
      500,
    ).catch(() => undefined);

    const mismatches: string[] = [];
    const lost: string[] = [];
    const doubled: string[] = [];
    const { rows: history } = await db.query<{
      order_id: string;
      from_status: string | null;
      to_status: string;
    }>(
      'select order_id, from_status, to_status from order_history where from_status is distinct from to_status order by id',
    );
    const transitionsOf = new Map<string, string[]>();
    for (const row of history) {
      const list = transitionsOf.get(row.order_id) ?? [];
      list.push(`${row.from_status ?? '∅'}→${row.to_status}`);
      transitionsOf.set(row.order_id, list);
    }
    const { rows: finals } = await db.query<{ id: string; status: string }>('select id, status from orders');
    const finalOf = new Map(finals.map((row) => [row.id, row.status]));
    for (const { story, order } of tracked) {
      const expected = EXPECTED[story];
      const seen = transitionsOf.get(order.id) ?? [];
      if (finalOf.get(order.id) !== expected.status)
        lost.push(`${order.id} (${story}): ${finalOf.get(order.id)}`);
      else if (seen.length > expected.transitions.length)
        doubled.push(`${order.id} (${story}): ${seen.join(', ')}`);
      else if (seen.join() !== expected.transitions.join())
        mismatches.push(`${order.id} (${story}): ${seen.join(', ')}`);
    }
    if (finals.length !== orders)
      mismatches.push(`${finals.length} orders in the database for ${orders} placed`);

    const clientsWrong: string[] = [];
    const withClient = tracked.filter((entry) => entry.client);
    await waitFor(
      () =>
        withClient.every((entry) => latest(entry.client!)?.status === EXPECTED[entry.story].status) ||
        undefined,
      'every client to hear its final status',
      60_000,
      250,
    ).catch(() => undefined);
    for (const entry of withClient) {
      const heard = latest(entry.client!)?.status;
      if (heard !== EXPECTED[entry.story].status)
        clientsWrong.push(`${entry.order.id} (${entry.story}): heard ${heard}`);
    }

    const [ledger] = (
      await db.query<{ events: string; duplicates: string }>(
        'select count(*) as events, coalesce(sum(deliveries - 1), 0) as duplicates from processed_webhook_events',
      )
    ).rows;
    const [outbox] = (
      await db.query<{ retries: string }>(
        'select coalesce(sum(greatest(attempts - 1, 0)), 0) as retries from outbox_deliveries',
      )
    ).rows;
    log(`API retries by clients: ${apiRetries}`);
    return {
      orders,
      clients: withClient.length,
      eventsDelivered: Number(ledger.events),
      duplicatesAbsorbed: Number(ledger.duplicates),
      // Every delivery that failed (on purpose, or an instance down or failing) was delivered again.
      redeliveries: proxy.counts.failedOnPurpose + proxy.counts.refused,
      failedFirstDeliveries: proxy.counts.failedOnPurpose,
      outboxRetries: Number(outbox.retries),
      mismatches,
      lost,
      doubled,
      clientsWrong,
      faults,
      seconds: Math.round((Date.now() - started) / 1000),
    };
  } finally {
    for (const entry of tracked) entry?.client?.close();
    await db.end().catch(() => undefined);
    for (const instance of instances) await instance?.stop();
    await sandbox?.stop();
    await proxy.close();
    await redis.stop();
    await pg.destroy();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

/** The message with the latest `updatedAt` a client heard (what a client shows). */
function latest(client: OrdersClient) {
  return [...client.statuses].sort((a, b) => a.updatedAt.localeCompare(b.updatedAt)).at(-1);
}
