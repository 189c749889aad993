import { MikroORM } from '@mikro-orm/core';
import { MikroOrmMiddleware, MikroOrmModule } from '@mikro-orm/nestjs';
import { PostgreSqlDriver } from '@mikro-orm/postgresql';
import {
  Global,
  Inject,
  Logger,
  type MiddlewareConsumer,
  Module,
  type NestModule,
  OnApplicationShutdown,
  OnModuleInit,
  RequestMethod,
} from '@nestjs/common';
import { AppConfig } from '../../config';
import { EmbeddedPostgres } from './embedded-postgres';
import { migrateToLatest } from './migrate';
import { ormOptions } from './orm.config';
import { DetachedEntities } from './detached-entities';
import { PreparedStatements } from './prepared-statements';
import { RetentionJob } from './retention.job';
import { SqlTransactions } from './sql-transactions';
import { redactUrl } from '../redact-url';
import { STRIPE_WEBHOOK_ROUTE } from '../webhook-route';

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
        // A request context for every HTTP request but one: see `configure`.
        registerRequestContext: false,
        // Queries at debug level, without their parameters (e-mails, token hashes never reach the log).
        debug:
          config.logLevel === 'debug' || config.logLevel === 'trace' ? ['query', 'info', 'discovery'] : false,
      }),
    }),
  ],
  providers: [RetentionJob, SqlTransactions, DetachedEntities],
  exports: [RetentionJob, SqlTransactions, DetachedEntities],
})
export class DatabaseModule implements NestModule, OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger(DatabaseModule.name);

  /**
   * A request context (a fresh unit of work) for every HTTP request, in Express 5 route syntax;
   * except Stripe's webhook, whose intake opens one only where it uses the unit of work.
   */
  configure(consumer: MiddlewareConsumer): void {
    consumer
      .apply(MikroOrmMiddleware)
      .exclude({ path: STRIPE_WEBHOOK_ROUTE.path, method: RequestMethod.POST })
      .forRoutes({ path: '{*path}', method: RequestMethod.ALL });
  }

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
    // Where PostgreSQL's own connections are not the pool's (a transaction-mode pooler), nothing is prepared.
    PreparedStatements.of(this.orm.em.getPlatform()).enabled =
      database.kind === 'postgresql' && database.limits.preparedStatements;
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
