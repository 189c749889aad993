import { MikroORM } from '@mikro-orm/core';
import { MikroOrmModule } from '@mikro-orm/nestjs';
import { PostgreSqlDriver } from '@mikro-orm/postgresql';
import { Global, Inject, Logger, Module, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { AppConfig } from '../../config';
import { EmbeddedPostgres } from './embedded-postgres';
import { migrateToLatest } from './migrate';
import { ormOptions } from './orm.config';
import { DetachedEntities } from './detached-entities';
import { RetentionJob } from './retention.job';
import { SqlTransactions } from './sql-transactions';
import { redactUrl } from '../redact-url';

/** The embedded database, or null when DATABASE_URL is set. */
@Module({
  providers: [
    {
      provide: EmbeddedPostgres,
      inject: [AppConfig],
      useFactory: ({ database }: AppConfig) =>
        database.kind === 'pglite' ? new EmbeddedPostgres(database.dataDir) : null,
    },
  ],
  exports: [EmbeddedPostgres],
})
class EmbeddedPostgresModule {}

/**
 * The database: PostgreSQL when `DATABASE_URL` is set, otherwise the embedded PGlite. Applies pending
 * migrations before the application serves anything.
 */
@Global()
@Module({
  imports: [
    EmbeddedPostgresModule,
    MikroOrmModule.forRootAsync({
      driver: PostgreSqlDriver,
      imports: [EmbeddedPostgresModule],
      inject: [AppConfig, EmbeddedPostgres],
      useFactory: (config: AppConfig, embedded: EmbeddedPostgres | null) => ({
        ...ormOptions(config.database, embedded ?? undefined),
        autoLoadEntities: true,
        // A request context (a fresh unit of work) for every HTTP request, in Express 5 route syntax.
        forRoutesPath: '{*path}',
        // Queries at debug level, without their parameters (e-mails, token hashes never reach the log).
        debug:
          config.logLevel === 'debug' || config.logLevel === 'trace' ? ['query', 'info', 'discovery'] : false,
      }),
    }),
  ],
  providers: [RetentionJob, SqlTransactions, DetachedEntities],
  exports: [RetentionJob, SqlTransactions, DetachedEntities],
})
export class DatabaseModule implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger(DatabaseModule.name);

  constructor(
    private readonly orm: MikroORM,
    private readonly config: AppConfig,
    @Inject(EmbeddedPostgres) private readonly embedded: EmbeddedPostgres | null,
  ) {}

  async onModuleInit(): Promise<void> {
    const { database } = this.config;
    this.logger.log(
      database.kind === 'postgresql'
        ? `Database: PostgreSQL at ${redactUrl(database.url)}`
        : `Database: embedded PGlite in ${database.dataDir} (set DATABASE_URL for PostgreSQL)`,
    );
    const applied = await migrateToLatest(this.orm, { shared: database.kind === 'postgresql' });
    if (applied.length) this.logger.log(`Applied migrations: ${applied.join(', ')}`);
  }

  /** The embedded database closes after the ORM (closing an ORM twice is harmless). */
  async onApplicationShutdown(): Promise<void> {
    if (!this.embedded) return;
    await this.orm.close();
    await this.embedded.close();
  }
}
