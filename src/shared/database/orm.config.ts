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
