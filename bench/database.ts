import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { Client, Pool } from 'pg';

/** An order with an open checkout attempt, as the service would have stored it after `POST …/checkout`. */
export interface SeededOrder {
  id: string;
  /** The customer's access token (the database keeps only its hash). */
  token: string;
  sessionId: string;
  paymentIntentId: string;
  amount: number;
  currency: string;
}

/**
 * Creates the benchmark's database if it is missing and empties it (its schemas are dropped),
 * so that the service's first start migrates it from scratch, as on a fresh machine.
 */
export async function refreshDatabase(databaseUrl: string): Promise<void> {
  const url = new URL(databaseUrl);
  const name = url.pathname.slice(1);
  const admin = new URL(databaseUrl);
  admin.pathname = '/postgres';
  const client = new Client({ connectionString: admin.toString() });
  await client.connect();
  try {
    const { rowCount } = await client.query('select 1 from pg_database where datname = $1', [name]);
    if (!rowCount) await client.query(`create database "${name.replace(/"/g, '""')}"`);
  } finally {
    await client.end();
  }
  const own = new Client({ connectionString: databaseUrl });
  await own.connect();
  try {
    // The service's tables, and the sandbox's stored objects (schema sandbox).
    await own.query(
      'drop schema if exists public cascade; drop schema if exists sandbox cascade; create schema public;',
    );
  } finally {
    await own.end();
  }
}

const CHUNK = 5000;

/**
 * Stores `count` orders of one catalog product, each with an open Checkout Session attempt: the
 * rows `POST /api/orders` and `POST /api/orders/:id/checkout` would have written (order, item,
 * history, payment), written directly so that seeding 50,000 of them takes seconds.
 */
export async function seedOrders(pool: Pool, count: number, label: string): Promise<SeededOrder[]> {
  const { rows } = await pool.query<{
    id: string;
    name: string;
    price_amount: number;
    price_currency: string;
  }>(`select id, name, price_amount, price_currency from products where active order by sku limit 1`);
  if (!rows[0]) throw new Error('The catalog is empty: the service seeds it on its first start');
  const product = rows[0];
  const orders: SeededOrder[] = [];
  const run = randomBytes(4).toString('hex');
  for (let i = 0; i < count; i++) {
    const suffix = `${label}${run}${String(i).padStart(6, '0')}`;
    orders.push({
      id: randomUUID(),
      token: randomBytes(32).toString('base64url'),
      sessionId: `cs_test_bench${suffix}`,
      paymentIntentId: `pi_bench${suffix}`,
      amount: product.price_amount,
      currency: product.price_currency,
    });
  }
  const now = new Date();
  const expires = new Date(now.getTime() + 24 * 3600_000);
  for (let start = 0; start < count; start += CHUNK) {
    const chunk = orders.slice(start, start + CHUNK);
    const ids = chunk.map((o) => o.id);
    const client = await pool.connect();
    try {
      await client.query('begin');
      await client.query(
        `insert into orders (id, customer_email, status, status_reason, total_amount, total_currency,
                             access_token_hash, needs_review, review_reason, created_at, updated_at)
         select id, 'bench@example.com', 'pending', null, $3, $4, hash, false, null, $5, $5
         from unnest($1::uuid[], $2::text[]) as t(id, hash)`,
        [ids, chunk.map((o) => hashToken(o.token)), product.price_amount, product.price_currency, now],
      );
      await client.query(
        `insert into order_items (id, order_id, product_id, name, quantity, unit_amount, unit_currency, position)
         select gen_random_uuid(), id, $2, $3, 1, $4, $5, 0 from unnest($1::uuid[]) as t(id)`,
        [ids, product.id, product.name, product.price_amount, product.price_currency],
      );
      await client.query(
        `insert into order_history (order_id, from_status, to_status, reason, source_kind, source_ref, occurred_at)
         select id, null, 'pending', 'Order placed', 'api', null, $2 from unnest($1::uuid[]) as t(id)`,
        [ids, now],
      );
      await client.query(
        `insert into payments (id, order_id, attempt, status, amount, currency, expires_at, session_id, url,
                               created_at, updated_at)
         select gen_random_uuid(), id, 1, 'open', $3, $4, $5, session_id,
                'http://127.0.0.1/c/pay/' || session_id, $6, $6
         from unnest($1::uuid[], $2::text[]) as t(id, session_id)`,
        [ids, chunk.map((o) => o.sessionId), product.price_amount, product.price_currency, expires, now],
      );
      await client.query('commit');
    } catch (error) {
      await client.query('rollback');
      throw error;
    } finally {
      client.release();
    }
  }
  return orders;
}

/** What the database says about a set of delivered events and their orders. */
export interface Verification {
  /** Orders of the set that are `paid`. */
  paidOrders: number;
  /** Of those, the ones whose checkout attempt succeeded. */
  succeededAttempts: number;
  /** `pending → paid` history rows whose source is the event. */
  paidHistoryRows: number;
  /** Ledger rows of the events with outcome `applied`. */
  appliedLedgerRows: number;
  /** Sum of the ledger's delivery counts over the events. */
  deliveries: number;
}

/** Counts, straight from SQL, what the events did to their orders. */
export async function verifyPaid(pool: Pool, eventIds: string[], orderIds: string[]): Promise<Verification> {
  const { rows } = await pool.query<Record<keyof Verification, string>>(
    `select
       (select count(*) from orders where id = any($2::uuid[]) and status = 'paid') as "paidOrders",
       (select count(*) from payments where order_id = any($2::uuid[]) and status = 'succeeded') as "succeededAttempts",
       (select count(*) from order_history
          where order_id = any($2::uuid[]) and to_status = 'paid' and from_status <> 'paid'
            and source_kind = 'webhook' and source_ref = any($1::text[])) as "paidHistoryRows",
       (select count(*) from processed_webhook_events where id = any($1::text[]) and outcome = 'applied')
         as "appliedLedgerRows",
       (select coalesce(sum(deliveries), 0) from processed_webhook_events where id = any($1::text[]))
         as "deliveries"`,
    [eventIds, orderIds],
  );
  const row = rows[0];
  return {
    paidOrders: Number(row.paidOrders),
    succeededAttempts: Number(row.succeededAttempts),
    paidHistoryRows: Number(row.paidHistoryRows),
    appliedLedgerRows: Number(row.appliedLedgerRows),
    deliveries: Number(row.deliveries),
  };
}

/** Orders created through the API whose checkout attempt got a session. */
export async function countCheckouts(pool: Pool, orderIds: string[]): Promise<number> {
  const { rows } = await pool.query<{ count: string }>(
    `select count(*) from payments where order_id = any($1::uuid[]) and session_id is not null`,
    [orderIds],
  );
  return Number(rows[0].count);
}

function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}
