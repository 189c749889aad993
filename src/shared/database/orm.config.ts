import { type MetadataStorage, ReferenceKind } from '@mikro-orm/core';
import { PostgreSqlDriver, type Options } from '@mikro-orm/postgresql';
import { Logger } from '@nestjs/common';
import { PGliteDriver } from 'mikro-orm-pglite';
import type { DatabaseConfig } from '../../config';
import type { EmbeddedPostgres } from './embedded-postgres';

const ormLogger = new Logger('MikroORM');

/**
 * MikroORM options shared by the service and the CLI. `DATABASE_URL` set means PostgreSQL; absent,
 * the embedded PGlite, which the caller owns and closes after the ORM.
 */
export function ormOptions(database: DatabaseConfig, embedded?: EmbeddedPostgres): Options {
  const common: Options = {
    // The migrator and the migrations' classes load only when something is to be migrated
    // (`migrateToLatest`); the CLI's configuration adds them.
    migrations: {
      tableName: 'mikro_orm_migrations',
      transactional: true,
      allOrNothing: true,
      snapshot: false,
      path: 'dist/shared/database/migrations',
      pathTs: 'src/shared/database/migrations',
    },
    ignoreUndefinedInQuery: true,
    discovery: { afterDiscovered: untrackScalars },
    colors: false,
    logger: (message) => ormLogger.log(message),
  };
  if (database.kind === 'postgresql') {
    const { connectTimeoutMs, statementTimeoutMs, lockTimeoutMs } = database.limits;
    return {
      ...common,
      driver: PostgreSqlDriver,
      clientUrl: database.url,
      pool: {
        min: 0,
        max: 10,
        acquireTimeoutMillis: connectTimeoutMs,
        createTimeoutMillis: connectTimeoutMs,
      },
      driverOptions: {
        connection: {
          connectionTimeoutMillis: connectTimeoutMs,
          keepAlive: true,
          // Enforced by PostgreSQL…
          statement_timeout: statementTimeoutMs,
          lock_timeout: lockTimeoutMs,
          idle_in_transaction_session_timeout: 60_000,
          // …and by the client, for when PostgreSQL itself does not answer (frozen, cut off).
          query_timeout: statementTimeoutMs + 1000,
        },
      },
    };
  }
  if (!embedded) throw new Error('The embedded database needs its EmbeddedPostgres');
  return {
    ...common,
    // PGliteDriver speaks PostgreSQL's dialect; its types line up with PostgreSqlDriver's.
    driver: PGliteDriver as unknown as typeof PostgreSqlDriver,
    dbName: 'postgres',
    driverOptions: { connection: { pglite: embedded.open } },
  };
}

/**
 * No change tracking on the entities' scalar and embedded properties. MikroORM tracks them (in
 * `flushMode: 'auto'`, the default, kept) to notice, before a query, that a loaded entity was
 * changed and flush it first. It does so with accessors that every entity instance gets on its
 * own: hydrating an entity deletes its fields and defines them again as accessors, which leaves
 * V8 a dictionary instead of a shaped object, and every read of a field after that goes through a
 * getter. That cost the webhook path, which builds its order and attempts from rows
 * (`DetachedEntities`) and never flushes them, about 11% of its instructions (2.22–2.27 → 1.98–1.99 M
 * per event, callgrind).
 *
 * What it changes: a query before a flush no longer flushes an entity whose only pending change is
 * to such a field (new entities, removals and changed relations still flush first, as
 * `flushMode: 'auto'` does). Every change is still written at the flush, found by comparing
 * snapshots, as before. The whole suite (770 tests, the chaos run's processes too), run on the old
 * setting with MikroORM's auto-flush recording every flush that only a changed field caused, found
 * one place: the orders module reading by its id the order that a refund or dispute had just changed
 * (`PaymentOutcomeListener`), which the identity map answers with that same changed instance either
 * way. MikroORM itself stops tracking these fields when it is configured not to flush before queries.
 * `test/e2e/change-tracking.e2e-spec.ts` holds both: plain fields, and changes still written.
 */
export function untrackScalars(storage: MetadataStorage): void {
  for (const meta of Object.values(storage.getAll())) {
    for (const prop of meta.props) {
      if (prop.kind === ReferenceKind.SCALAR || prop.kind === ReferenceKind.EMBEDDED)
        prop.trackChanges = false;
    }
    meta.sync();
  }
}
