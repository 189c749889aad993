import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
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
  /** What happened to this order on the test's side (API attempts, socket events), for a failure's report. */
  trail: string[];
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
  print: (line: string) => void = () => undefined,
): Promise<ChaosReport> {
  const started = Date.now();
  const clock = () => `${((Date.now() - started) / 1000).toFixed(1)} s`;
  const log = (line: string) => print(`${clock()} ${line}`);
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
  let killedOutput = '';
  let finished = false;
  let killedDuringCancel: string | undefined;
  const faultTimeline: string[] = [];
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
    /** Set while the kill waits for a cancellation to be in flight on instance A. */
    let onCancelSentToA: ((path: string) => void) | undefined;
    const api = async <T>(
      method: string,
      path: string,
      body?: object,
      token?: string,
      trail?: string[],
    ): Promise<{ status: number; body: T }> => {
      const key = randomUUID();
      for (let attempt = 0; ; attempt++) {
        const url = urls()[attempt % 2];
        const note = (what: string) =>
          trail?.push(`${clock()} ${method} ${path} #${attempt} on ${url}: ${what}`);
        if (onCancelSentToA && path.endsWith('/cancel') && url === urls()[0]) onCancelSentToA(path);
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
          note(`${response.status} ${text.slice(0, 120)}`);
          if ((response.status >= 500 || response.status === 409) && attempt < 240) {
            if (response.status !== 409 || text.includes('IDEMPOTENCY.IN_FLIGHT')) {
              apiRetries++;
              await sleep(400);
              continue;
            }
          }
          return { status: response.status, body: JSON.parse(text) as T };
        } catch (error) {
          note(`no answer: ${(error as Error).message}`);
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
        const entry: Tracked = {
          story: STORIES[i % STORIES.length],
          order,
          sessionUrl: checkout.body.url,
          trail: [],
        };
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
          const { socket } = entry.client;
          const trail = (what: string) => entry.trail.push(`${clock()} socket: ${what}`);
          socket.on('connect', () => trail('connected'));
          socket.on('disconnect', (reason) => trail(`disconnected (${reason})`));
          socket.on('connect_error', (error: Error & { data?: { code?: string } }) => {
            trail(`connect_error ${error.message} ${JSON.stringify(error.data ?? null)}`);
            // As the storefront does: socket.io retries a transport failure itself; a refusal by the
            // server it does not, and only "Order not found" is final.
            if (!socket.active && error.data?.code !== 'ORDERS.NOT_FOUND') {
              setTimeout(() => finished || socket.connect(), 1000).unref();
            }
          });
          socket.on('order.status', (message: { status: string; updatedAt: string }) =>
            trail(`heard ${message.status} (${message.updatedAt})`),
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
      faultTimeline.push(`${clock()} PostgreSQL restarting`);
      await pg.restart();
      faultTimeline.push(`${clock()} PostgreSQL restarted`);
      await at(0.4);
      // The kill comes while a cancellation is in flight on A (up to 50 ms after it was sent: before
      // or after its commit), the case where a customer's request dies with the instance.
      const inFlight = await new Promise<string | undefined>((resolve) => {
        const timer = setTimeout(() => {
          onCancelSentToA = undefined;
          resolve(undefined);
        }, 30_000);
        onCancelSentToA = (path) => {
          onCancelSentToA = undefined;
          clearTimeout(timer);
          setTimeout(() => resolve(path), Math.random() * 50);
        };
      });
      faults.push('instance A SIGKILLed and started again');
      log(`fault: SIGKILL instance A${inFlight ? ' (a cancellation in flight on it)' : ''}`);
      faultTimeline.push(
        `${clock()} instance A SIGKILLed; in flight on it: ${inFlight ?? 'no cancellation'}`,
      );
      killedDuringCancel = inFlight;
      instances[0]!.kill('SIGKILL');
      await instances[0]!.exited;
      killedOutput = instances[0]!.output();
      await sleep(1000);
      await start(0);
      faultTimeline.push(`${clock()} instance A answers again`);
      await at(0.6);
      faults.push('Redis stopped for 10 s');
      log('fault: Redis down for 10 s');
      await redis.stop();
      faultTimeline.push(`${clock()} Redis stopped`);
      await sleep(10_000);
      await redis.start();
      faultTimeline.push(`${clock()} Redis started`);
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
          const canceled = await api(
            'POST',
            `/api/orders/${order.id}/cancel`,
            undefined,
            order.accessToken,
            entry.trail,
          );
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
    /** Every order's status, in one query (an empty map while the database restarts). */
    const statuses = async () =>
      new Map(
        (
          await db
            .query<{ id: string; status: string }>('select id, status from orders')
            .catch(() => ({ rows: [] as { id: string; status: string }[] }))
        ).rows.map((row) => [row.id, row.status]),
      );
    await waitFor(
      async () => {
        const status = await statuses();
        return tracked.every(
          ({ story, order }) =>
            (story !== 'bank_settled' && story !== 'bank_failed') || status.get(order.id) === 'processing',
        );
      },
      'bank payments processing',
      600_000,
      500,
    );
    log('advancing the sandbox clock past settlement and expiry');
    await advanceSandboxClock(sandbox.url, 36 * 60);

    // Phase D: every order ends as its story says; the outbox drains; every client heard the end.
    log('waiting for every order to reach its end');
    const settled = await waitFor(
      async () => {
        const status = await statuses();
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
    const cutShort = tracked.find((entry) => killedDuringCancel?.includes(entry.order.id));
    if (cutShort) {
      const tries = cutShort.trail.filter((line) => line.includes('/cancel'));
      const shown = tries.length > 6 ? [...tries.slice(0, 3), '…', ...tries.slice(-2)] : tries;
      log(
        `the cancellation in flight at the kill (order ${cutShort.order.id}, now ${finalOf.get(cutShort.order.id)}), ${tries.length} tries:\n  ${shown.join('\n  ')}`,
      );
    }
    const troubled = new Set(
      [...lost, ...doubled, ...mismatches, ...clientsWrong].map((line) => line.split(' ')[0]),
    );
    if (troubled.size > 0) {
      const file = await explain(
        db,
        tracked.filter((entry) => troubled.has(entry.order.id)),
        [
          ['fault timeline', faultTimeline.join('\n')],
          ['instance A (killed)', killedOutput],
          ['instance A', instances[0]?.output() ?? ''],
          ['instance B', instances[1]?.output() ?? ''],
          ['sandbox', sandbox.output()],
        ],
      );
      log(`what happened to the orders that went wrong: ${file}`);
    }
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
    finished = true;
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

/**
 * Writes what is known about the orders that went wrong (the test's trail of each, its history with
 * internal notes, its webhook events and outbox deliveries) and every process's output to a file
 * under test/artifacts, and returns its path.
 */
async function explain(db: Pool, entries: Tracked[], outputs: [string, string][]): Promise<string> {
  const sections: string[] = [];
  for (const entry of entries) {
    const id = entry.order.id;
    const history = await db.query(
      `select id, from_status, to_status, reason, source_kind, source_ref, internal, occurred_at
         from order_history where order_id = $1 order by id`,
      [id],
    );
    const events = await db.query(
      `select id, type, outcome, detail, deliveries, received_at, last_delivery_at
         from processed_webhook_events where order_id = $1 order by received_at`,
      [id],
    );
    const deliveries = await db.query(
      `select e.name, e.created_at as event_at, e.payload, d.subscriber, d.status, d.attempts, d.last_error,
              d.next_attempt_at, d.locked_until, d.delivered_at
         from outbox_events e join outbox_deliveries d on d.event_id = e.id
        where e.payload->>'orderId' = $1 order by e.created_at, d.id`,
      [id],
    );
    const payments = await db.query(`select * from payments where order_id = $1 order by attempt`, [id]);
    sections.push(
      [
        `=== order ${id} (${entry.story}), client heard: ${entry.client ? JSON.stringify(entry.client.statuses) : '-'}`,
        '--- trail',
        ...entry.trail,
        '--- history',
        ...history.rows.map((row) => JSON.stringify(row)),
        '--- webhook events',
        ...events.rows.map((row) => JSON.stringify(row)),
        '--- outbox',
        ...deliveries.rows.map((row) => JSON.stringify(row)),
        '--- payments',
        ...payments.rows.map((row) => JSON.stringify(row)),
      ].join('\n'),
    );
  }
  for (const [name, text] of outputs) sections.push(`=== ${name}\n${text}`);
  const dir = join(__dirname, '..', 'artifacts');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `chaos-${new Date().toISOString().replace(/[:.]/g, '-')}.log`);
  writeFileSync(file, sections.join('\n\n'));
  return file;
}
