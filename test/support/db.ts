import type { MikroORM } from '@mikro-orm/core';

/** Tables that keep their rows between tests: reference data seeded at boot, and migration bookkeeping. */
const KEPT = new Set(['products', 'mikro_orm_migrations']);

/**
 * Empties every table the entities map, except reference data, between tests. Late webhook
 * deliveries and the outbox relay of the previous test may still be writing: a TRUNCATE that
 * deadlocks with one of them (PostgreSQL picks it as the victim) is simply tried again.
 */
export async function truncateAll(orm: MikroORM): Promise<void> {
  const tables = Object.values(orm.getMetadata().getAll())
    .filter((meta) => !meta.embeddable && !meta.virtual && meta.tableName && !KEPT.has(meta.tableName))
    .map((meta) => `"${meta.tableName}"`);
  for (let attempt = 1; ; attempt++) {
    try {
      await orm.em
        .fork()
        .getConnection()
        .execute(`truncate ${[...new Set(tables)].join(', ')} restart identity cascade`);
      return;
    } catch (error) {
      if (attempt >= 5 || !String(error).includes('deadlock detected')) throw error;
    }
  }
}

/** Number of rows of a table, straight from SQL. */
export async function countRows(orm: MikroORM, table: string): Promise<number> {
  const [row] = await orm.em
    .fork()
    .getConnection()
    .execute<{ count: string }[]>(`select count(*) from "${table}"`);
  return Number(row.count);
}
