/**
 * How the floors talk to PostgreSQL, as cheaply as the service does: each statement is prepared once
 * per connection (PostgreSQL parses and plans it once), then run as `EXECUTE` with its values
 * written as literals, in the simple protocol, so that a transaction's `BEGIN` or `COMMIT` travels
 * with a statement: one round trip each, not one per statement.
 */
import type { PoolClient, QueryResult, QueryResultRow } from 'pg';

/**
 * The lease the floors' outbox deliveries are written under: as long a value as the service's
 * 30 s costs the same to write, but the service's relay must never claim them. With the service's
 * lease, every delivery a floor wrote fell due 30 s later and the service delivered it (a push, a
 * mark) in the middle of its own measured rounds, charged to it.
 */
export const FLOOR_DELIVERY_LEASE = "interval '1 day'";

const preparedOn = new WeakMap<PoolClient, Set<string>>();

export type Value = string | number | boolean | Date | null | readonly string[];

function literal(client: PoolClient, value: Value): string {
  if (value === null) return 'null';
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new Error(`Not a finite number: ${value}`);
    return String(value);
  }
  if (typeof value === 'boolean') return String(value);
  if (value instanceof Date) return client.escapeLiteral(value.toISOString());
  if (Array.isArray(value))
    return `array[${value.map((v: string) => client.escapeLiteral(v)).join(', ')}]::text[]`;
  return client.escapeLiteral(value as string);
}

/** Prepares the statements on this connection unless they already are (each name once). */
export async function prepare(
  client: PoolClient,
  statements: Readonly<Record<string, string>>,
): Promise<void> {
  let done = preparedOn.get(client);
  if (!done) preparedOn.set(client, (done = new Set()));
  const missing = Object.entries(statements).filter(([name]) => !done.has(name));
  if (missing.length === 0) return;
  await client.query(missing.map(([name, text]) => `prepare ${name} as ${text}`).join(';\n'));
  for (const [name] of missing) done.add(name);
}

/** `execute name(values…)`, to be sent alone or with `begin` / `commit` around it. */
export function execute(client: PoolClient, name: string, values: readonly Value[]): string {
  return `execute ${name}(${values.map((value) => literal(client, value)).join(', ')})`;
}

/** The results of a simple-protocol batch, one per statement (pg gives one alone unwrapped). */
export async function batch<R extends QueryResultRow>(
  client: PoolClient,
  text: string,
): Promise<QueryResult<R>[]> {
  const result = (await client.query<R>(text)) as QueryResult<R> | QueryResult<R>[];
  return Array.isArray(result) ? result : [result];
}
