import type { MikroORM } from '@mikro-orm/core';
import type { EntityManager, Knex } from '@mikro-orm/postgresql';
import { MIGRATION_NAMES } from './migrations/names';

/** Any fixed number: all instances agree on it, so only one migrates at a time. */
const MIGRATION_LOCK = 7_203_114_001;

/**
 * Applies pending migrations and returns the names it applied. On a shared PostgreSQL, instances
 * starting together take turns through an advisory lock held by a transaction that wraps the run.
 * The embedded PGlite has a single connection and a single process: no lock, nothing to wait for.
 * A database that has every migration already (each start but the first) costs one query: the
 * migrator and the migrations' classes are not even loaded.
 */
export async function migrateToLatest(orm: MikroORM, { shared }: { shared: boolean }): Promise<string[]> {
  if (await upToDate(orm)) return [];
  const { migrationsList } = await import('./migrations');
  orm.config.set('migrations', { ...orm.config.get('migrations'), migrationsList });
  // MikroORM loads @mikro-orm/migrations on first use of its migrator.
  const migrator = orm.getMigrator();
  if (!shared) return (await migrator.up()).map((migration) => migration.name);
  const em = orm.em.fork() as EntityManager;
  return em.transactional(async (tx) => {
    // Migrations may take longer than a request's statement timeout; waiting for another instance's
    // run may too.
    await tx.execute('set local statement_timeout = 0');
    await tx.execute('set local lock_timeout = 0');
    await tx.execute('select pg_advisory_xact_lock(?)', [MIGRATION_LOCK]);
    const applied = await migrator.up({ transaction: tx.getTransactionContext<Knex.Transaction>() });
    return applied.map((migration) => migration.name);
  });
}

/** Whether every migration this version knows is recorded as applied (a newer version's may be too). */
async function upToDate(orm: MikroORM): Promise<boolean> {
  const connection = (orm.em as EntityManager).getConnection();
  const [{ present }] = await connection.execute<{ present: boolean }[]>(
    `select to_regclass(?) is not null as present`,
    [orm.config.get('migrations').tableName],
  );
  if (!present) return false;
  const rows = await connection.execute<{ name: string }[]>(
    `select name from ${orm.config.get('migrations').tableName}`,
  );
  const applied = new Set(rows.map((row) => row.name));
  return MIGRATION_NAMES.every((name) => applied.has(name));
}
