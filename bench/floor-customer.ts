/**
 * The customer path's floor: `POST /api/orders` then `POST /api/orders/:id/checkout`, doing the
 * least the service's rules allow, with the rows and the transactions the service commits:
 *
 * - placing: the catalog's prices (read once, as the service caches them), then one statement that
 *   commits the order, its items, its first history row, and the outbox's rows of `orders.placed`
 *   (the event, one delivery per durable subscriber);
 * - the checkout: the order and its attempts locked and read, the token checked, the attempt
 *   inserted and committed before Stripe is called; the session created with the same Stripe SDK
 *   call and idempotency key against the same sandbox; then the order and the attempt locked again
 *   and the attempt stored `open` with its session. Each transaction is two round trips of prepared
 *   statements, as the service's (`floor-sql.ts`).
 *
 * Like the webhook floor, it delivers nothing after the commit (the service's pushes are work the
 * floor does not do), and it answers the service's bodies.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { Pool, QueryResultRow } from 'pg';
import Stripe from 'stripe';
import { batch, execute, FLOOR_DELIVERY_LEASE, prepare, type Value } from './floor-sql';

interface Product {
  id: string;
  name: string;
  amount: number;
  currency: string;
}

interface PlaceBody {
  customerEmail?: unknown;
  items?: { productId?: unknown; quantity?: unknown }[];
}

export interface FloorAnswer {
  status: number;
  body: object;
}

/** The durable subscribers of `orders.placed`, as the service registers them. */
const PLACED_SUBSCRIBERS = ['staff.push-order-placed'];
/** The service's defaults: 30 minutes' lifetime, 5 minutes' grace; reconciliation after 5 minutes. */
const EXPIRY_MS = 35 * 60_000;
const CHECK_AFTER_MS = 5 * 60_000;
const CHECKOUT_PATH = /^\/api\/orders\/([0-9a-f-]{36})\/checkout$/;

const PLACE = `
with o as (
  insert into orders (id, customer_email, status, status_reason, total_amount, total_currency,
    access_token_hash, needs_review, review_reason, refunded_amount, dispute_state, created_at, updated_at)
  values ($1, $2, 'pending', null, $3, $4, $5, false, null, 0, null, $6, $6)
), items as (
  insert into order_items (id, order_id, product_id, name, quantity, unit_amount, unit_currency, position)
  select gen_random_uuid(), $1, i.product_id, i.name, i.quantity, i.unit_amount, $4, i.position
  from json_to_recordset($7::json) as i(product_id uuid, name text, quantity int, unit_amount int, position int)
), history as (
  insert into order_history (order_id, from_status, to_status, reason, source_kind, source_ref, occurred_at, internal)
  values ($1, null, 'pending', 'Order placed', 'api', null, $6, false)
), event as (
  insert into outbox_events (id, name, payload, created_at)
  values ($8, 'orders.placed', jsonb_build_object('orderId', $1::uuid, 'totalAmount', $3::int,
            'currency', $4::text, 'occurredAt', jsonb_build_object('$date', $6::timestamptz)), now())
)
insert into outbox_deliveries (event_id, subscriber, status, attempts, next_attempt_at, locked_until, created_at)
select $8, subscriber, 'pending', 1, now(), clock_timestamp() + ${FLOOR_DELIVERY_LEASE}, now()
from unnest($9::text[]) as subscriber`;

const LOCK_ORDER_AND_ATTEMPTS = `
with locked_order as (
  select o.*, coalesce((select json_agg(json_build_object('name', i.name, 'quantity', i.quantity,
                'amount', i.unit_amount, 'currency', i.unit_currency) order by i.position)
                from order_items i where i.order_id = o.id), '[]') as items
  from orders o where o.id = $1 for update of o
), attempts as (
  select * from payments where order_id = (select id from locked_order) order by attempt desc for update
)
select (select row_to_json(locked_order) from locked_order) as "order",
       (select json_agg(attempts order by attempts.attempt desc) from attempts) as attempts`;

const INSERT_ATTEMPT = `
insert into payments (id, order_id, attempt, status, amount, currency, expires_at, session_id, url,
  payment_intent_id, failure_code, failure_message, next_check_at, checks, close_requested_at, created_at, updated_at)
values ($1, $2, $3, 'creating', $4, $5, $6, null, null, null, null, null, $7, 0, null, $8, $8)`;

const LOCK_ORDER_AND_ATTEMPT = `
with locked_order as (select id, status from orders where id = $1 for update),
     locked_attempt as (select * from payments where id = $2 for update)
select (select row_to_json(locked_order) from locked_order) as "order",
       (select row_to_json(locked_attempt) from locked_attempt) as attempt`;

const STORE_OPENED = `
update payments set status = 'open', session_id = $2, url = $3, updated_at = now() where id = $1`;

const STATEMENTS = {
  floor_place: PLACE,
  floor_lock_order_and_attempts: LOCK_ORDER_AND_ATTEMPTS,
  floor_insert_attempt: INSERT_ATTEMPT,
  floor_lock_order_and_attempt: LOCK_ORDER_AND_ATTEMPT,
  floor_store_opened: STORE_OPENED,
};

interface LockedOrder {
  id: string;
  status: string;
  customer_email: string;
  total_amount: number;
  total_currency: string;
  access_token_hash: string;
  items: { name: string; quantity: number; amount: number; currency: string }[];
}

interface Attempt {
  id: string;
  attempt: number;
  status: string;
  session_id: string | null;
  url: string | null;
  expires_at: string;
}

const hash = (token: string) => createHash('sha256').update(token, 'utf8').digest('hex');
const notFound: FloorAnswer = { status: 404, body: { code: 'ORDER_NOT_FOUND', message: 'Order not found' } };

export function customerPath(pool: Pool) {
  const stripe = new Stripe(process.env.STRIPE_SECRET_KEY ?? '', {
    host: '127.0.0.1',
    port: Number(process.env.STRIPE_API_PORT),
    protocol: 'http',
    maxNetworkRetries: 1,
    telemetry: false,
  });
  const publicUrl = process.env.PUBLIC_URL ?? 'http://localhost:3000';
  let catalog: Promise<Map<string, Product>> | undefined;
  const products = () =>
    (catalog ??= pool
      .query<Product>(
        'select id, name, price_amount as amount, price_currency as currency from products where active',
      )
      .then((result) => new Map(result.rows.map((p) => [p.id, p]))));

  async function place(raw: Buffer): Promise<FloorAnswer> {
    const input = JSON.parse(raw.toString('utf8')) as PlaceBody;
    const email = typeof input.customerEmail === 'string' ? input.customerEmail.trim().toLowerCase() : '';
    if (!email.includes('@') || !Array.isArray(input.items) || input.items.length === 0) {
      return { status: 400, body: { code: 'VALIDATION_FAILED' } };
    }
    const known = await products();
    const lines = [];
    for (const item of input.items) {
      const product = known.get(String(item.productId));
      const quantity = Number(item.quantity);
      if (!product || !Number.isInteger(quantity) || quantity < 1) {
        return { status: 422, body: { code: 'UNKNOWN_PRODUCT' } };
      }
      lines.push({ product, quantity });
    }
    const currency = lines[0].product.currency;
    const total = lines.reduce((sum, line) => sum + line.product.amount * line.quantity, 0);
    const id = randomUUID();
    const accessToken = randomBytes(32).toString('base64url');
    const now = new Date();
    const client = await pool.connect();
    try {
      await prepare(client, STATEMENTS);
      await client.query(
        execute(client, 'floor_place', [
          id,
          email,
          total,
          currency,
          hash(accessToken),
          now,
          JSON.stringify(
            lines.map((line, position) => ({
              position,
              product_id: line.product.id,
              name: line.product.name,
              quantity: line.quantity,
              unit_amount: line.product.amount,
            })),
          ),
          randomUUID(),
          PLACED_SUBSCRIBERS,
        ]),
      );
    } finally {
      client.release();
    }
    return {
      status: 201,
      body: {
        id,
        status: 'pending',
        reason: null,
        currency,
        totalAmount: total,
        refundedAmount: 0,
        customerEmail: email,
        items: lines.map((line) => ({
          productId: line.product.id,
          name: line.product.name,
          quantity: line.quantity,
          unitAmount: line.product.amount,
          lineAmount: line.product.amount * line.quantity,
        })),
        createdAt: now,
        updatedAt: now,
        accessToken,
      },
    };
  }

  /**
   * One transaction of two round trips, as the service's: begin and the read (its rows locked);
   * then what `decide` makes of them, written with the commit.
   */
  async function transaction<R extends QueryResultRow, T>(
    read: { name: keyof typeof STATEMENTS; values: Value[] },
    decide: (row: R) => { write?: { name: keyof typeof STATEMENTS; values: Value[] }; result: T },
  ): Promise<T> {
    const client = await pool.connect();
    try {
      await prepare(client, STATEMENTS);
      const [, found] = await batch<R>(client, `begin; ${execute(client, read.name, read.values)}`);
      const { write, result } = decide(found.rows[0]);
      await client.query(write ? `${execute(client, write.name, write.values)}; commit` : 'commit');
      return result;
    } catch (error) {
      await client.query('rollback').catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
  }

  async function checkout(orderId: string, authorization: string | undefined): Promise<FloorAnswer> {
    const token = authorization?.startsWith('Bearer ') ? authorization.slice(7) : undefined;
    const now = new Date();
    const planned = await transaction<
      { order: LockedOrder | null; attempts: Attempt[] | null },
      { order: LockedOrder; attempt: Attempt; fresh: boolean } | 'conflict' | null
    >({ name: 'floor_lock_order_and_attempts', values: [orderId] }, (row) => {
      const order = row.order;
      if (!order || !token || order.access_token_hash !== hash(token)) return { result: null };
      if (order.status !== 'pending' && order.status !== 'failed') return { result: 'conflict' };
      const latest = row.attempts?.[0];
      if (latest?.status === 'open') return { result: { order, attempt: latest, fresh: false } };
      const attempt: Attempt = {
        id: randomUUID(),
        attempt: (latest?.attempt ?? 0) + 1,
        status: 'creating',
        session_id: null,
        url: null,
        expires_at: new Date(Math.floor((now.getTime() + EXPIRY_MS) / 1000) * 1000).toISOString(),
      };
      return {
        write: {
          name: 'floor_insert_attempt',
          values: [
            attempt.id,
            order.id,
            attempt.attempt,
            order.total_amount,
            order.total_currency,
            attempt.expires_at,
            new Date(now.getTime() + CHECK_AFTER_MS),
            now,
          ],
        },
        result: { order, attempt, fresh: true },
      };
    });
    if (planned === null) return notFound;
    if (planned === 'conflict') return { status: 409, body: { code: 'CHECKOUT_NOT_ALLOWED' } };
    const { order, attempt } = planned;
    if (!planned.fresh) {
      return {
        status: 201,
        body: { sessionId: attempt.session_id, url: attempt.url, expiresAt: attempt.expires_at },
      };
    }
    const orderParam = encodeURIComponent(order.id);
    const session = await stripe.checkout.sessions.create(
      {
        mode: 'payment',
        line_items: order.items.map((item) => ({
          price_data: {
            currency: item.currency,
            unit_amount: item.amount,
            product_data: { name: item.name },
          },
          quantity: item.quantity,
        })),
        success_url: `${publicUrl}/checkout/success?orderId=${orderParam}&session_id={CHECKOUT_SESSION_ID}`,
        cancel_url: `${publicUrl}/checkout/cancel?orderId=${orderParam}`,
        client_reference_id: order.id,
        customer_email: order.customer_email,
        metadata: { orderId: order.id, attemptId: attempt.id },
        payment_intent_data: {
          metadata: { orderId: order.id, attemptId: attempt.id },
          receipt_email: order.customer_email,
        },
        expires_at: Math.floor(new Date(attempt.expires_at).getTime() / 1000),
      },
      { idempotencyKey: `checkout:${order.id}:${attempt.attempt}` },
    );
    const payable = await transaction<{ order: { status: string } | null; attempt: Attempt | null }, boolean>(
      { name: 'floor_lock_order_and_attempt', values: [order.id, attempt.id] },
      (row) => ({
        write: { name: 'floor_store_opened', values: [attempt.id, session.id, session.url] },
        result: row.order?.status === 'pending' || row.order?.status === 'failed',
      }),
    );
    if (!payable) return { status: 409, body: { code: 'CHECKOUT_NOT_ALLOWED' } };
    return { status: 201, body: { sessionId: session.id, url: session.url, expiresAt: attempt.expires_at } };
  }

  return {
    async handle(url: string, authorization: string | undefined, raw: Buffer): Promise<FloorAnswer> {
      if (url === '/api/orders') return place(raw);
      const match = CHECKOUT_PATH.exec(url);
      return match ? checkout(match[1], authorization) : notFound;
    },
  };
}
