/**
 * The floors: the least a server can do for the benchmark's requests, as a minimal `node:http` +
 * `pg` server. Its throughput is what the service's is measured against.
 *
 * The webhook: the least an endpoint can do for a `checkout.session.completed` event. It verifies
 * the same `Stripe-Signature` on the raw bytes, parses the event, and commits the rows the service
 * commits: the ledger row (with its outcome), the attempt `succeeded`, the order `paid`, its history
 * row, and the transactional outbox's rows for the status change (the event, and one delivery per
 * durable subscriber of it, as the service writes them), in one transaction of two round trips of
 * prepared statements, as the service sends its own (`floor-sql.ts`). It delivers nothing after
 * the commit: the service's pushes and its marking of deliveries done are work the floor does not
 * do.
 *
 * The customer path (`customerPath` below): an order placed, then its checkout session opened
 * through the same Stripe SDK against the same sandbox, with the service's transactions and rows.
 *
 * Started by the benchmark: `FLOOR_PORT`, `DATABASE_URL`, `STRIPE_WEBHOOK_SECRET`,
 * `FLOOR_POOL_SIZE`, and for the customer path `STRIPE_SECRET_KEY`, `STRIPE_API_PORT` (the sandbox
 * on 127.0.0.1, over http) and `PUBLIC_URL`.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { Pool } from 'pg';
import { customerPath } from './floor-customer';
import { batch, execute, FLOOR_DELIVERY_LEASE, prepare } from './floor-sql';

const TOLERANCE_SECONDS = 300;
const secret = process.env.STRIPE_WEBHOOK_SECRET ?? '';
const pool = new Pool({
  connectionString: process.env.DATABASE_URL,
  max: Number(process.env.FLOOR_POOL_SIZE ?? 10),
});

function verified(raw: Buffer, header: string | undefined): boolean {
  if (!header) return false;
  let timestamp = NaN;
  const signatures: string[] = [];
  for (const part of header.split(',')) {
    const [key, value] = part.split('=', 2);
    if (key === 't') timestamp = Number(value);
    else if (key === 'v1' && value) signatures.push(value);
  }
  if (!Number.isInteger(timestamp) || Math.abs(Date.now() / 1000 - timestamp) > TOLERANCE_SECONDS)
    return false;
  const expected = createHmac('sha256', secret).update(`${timestamp}.`).update(raw).digest();
  return signatures.some((signature) => {
    const given = Buffer.from(signature, 'hex');
    return given.length === expected.length && timingSafeEqual(given, expected);
  });
}

interface CompletedEvent {
  id: string;
  type: string;
  data: {
    object: {
      id: string;
      amount_total: number;
      currency: string;
      payment_intent: string;
      metadata: { orderId?: string };
    };
  };
}

/** The durable subscribers of an order's status change, as the service registers them. */
const STATUS_SUBSCRIBERS = ['notifications.push-status', 'staff.push-order-updated'];

// The attempt, the order and its history, the outbox's rows, and the ledger's outcome, in one statement.
const APPLY = `
with pay as (
  update payments set status = 'succeeded', payment_intent_id = $3, updated_at = now()
  where session_id = $2 and order_id = $4 and amount = $5 and currency = $6 and status in ('open', 'processing')
  returning order_id
), old as (
  select id, status from orders where id = (select order_id from pay) for update
), ord as (
  update orders o set status = 'paid', status_reason = null, updated_at = now()
  from old where o.id = old.id and old.status in ('pending', 'processing', 'failed')
  returning o.id, old.status as from_status
), history as (
  insert into order_history (order_id, from_status, to_status, reason, source_kind, source_ref, occurred_at)
  select id, from_status, 'paid', 'Payment confirmed', 'webhook', $1, now() from ord
), event as (
  insert into outbox_events (id, name, payload, created_at)
  select gen_random_uuid(), 'orders.status_changed',
         jsonb_build_object('orderId', id, 'status', 'paid', 'previousStatus', from_status,
                            'reason', null, 'updatedAt', jsonb_build_object('$date', now())),
         now()
  from ord
  returning id
), deliveries as (
  insert into outbox_deliveries (event_id, subscriber, status, attempts, next_attempt_at, locked_until, created_at)
  select event.id, subscriber, 'pending', 1, now(), clock_timestamp() + ${FLOOR_DELIVERY_LEASE}, now()
  from event, unnest($7::text[]) as subscriber
)
update processed_webhook_events
set outcome = case when exists (select 1 from ord) then 'applied' else 'ignored' end,
    order_id = $4, detail = 'attempt 1 succeeded'
where id = $1
returning outcome`;

const CLAIM = `
insert into processed_webhook_events (id, type, deliveries, received_at, last_delivery_at)
values ($1, $2, 1, now(), now())
on conflict (id) do update
  set deliveries = processed_webhook_events.deliveries + 1, last_delivery_at = now()
returning deliveries`;

const STATEMENTS = { floor_claim: CLAIM, floor_apply: APPLY };

/** One transaction of two round trips, as the service's: begin and the claim; then the effect and commit. */
async function apply(event: CompletedEvent): Promise<string> {
  const session = event.data.object;
  const client = await pool.connect();
  try {
    await prepare(client, STATEMENTS);
    const [, claim] = await batch<{ deliveries: number }>(
      client,
      `begin; ${execute(client, 'floor_claim', [event.id, event.type])}`,
    );
    if (claim.rows[0].deliveries !== 1) {
      await client.query('commit');
      return 'duplicate';
    }
    const [applied] = await batch<{ outcome: string }>(
      client,
      `${execute(client, 'floor_apply', [
        event.id,
        session.id,
        session.payment_intent,
        session.metadata.orderId ?? null,
        session.amount_total,
        session.currency,
        STATUS_SUBSCRIBERS,
      ])}; commit`,
    );
    return applied.rows[0].outcome;
  } catch (error) {
    await client.query('rollback').catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}

async function bodyOf(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

function answer(res: ServerResponse, status: number, body: object): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
  if (req.method === 'GET' && req.url === '/ready') return answer(res, 200, { ok: true });
  if (req.method === 'POST' && req.url?.startsWith('/api/orders')) {
    const { status, body } = await customer.handle(req.url, req.headers.authorization, await bodyOf(req));
    return answer(res, status, body);
  }
  if (req.method !== 'POST' || req.url !== '/api/webhooks/stripe') return answer(res, 404, {});
  const raw = await bodyOf(req);
  const signature = req.headers['stripe-signature'];
  if (!verified(raw, typeof signature === 'string' ? signature : undefined)) {
    return answer(res, 400, { message: 'bad signature' });
  }
  const event = JSON.parse(raw.toString('utf8')) as CompletedEvent;
  if (event.type !== 'checkout.session.completed') return answer(res, 400, { message: 'unexpected type' });
  try {
    answer(res, 200, { received: true, outcome: await apply(event) });
  } catch (error) {
    console.error(error);
    answer(res, 500, { message: 'failed' });
  }
}

const customer = customerPath(pool);

const server = createServer((req, res) => {
  handle(req, res).catch((error: unknown) => {
    console.error(error);
    if (!res.headersSent) answer(res, 500, {});
  });
});
server.keepAliveTimeout = 65_000;
server.listen(Number(process.env.FLOOR_PORT), '127.0.0.1');
process.on('SIGTERM', () => {
  server.close();
  server.closeAllConnections();
  void pool.end();
});
