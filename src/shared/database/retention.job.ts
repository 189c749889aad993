import { MikroORM } from '@mikro-orm/core';
import type { EntityManager } from '@mikro-orm/postgresql';
import { Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { AppConfig } from '../../config';

/** Rows deleted per statement, so that no delete holds locks for long. */
const BATCH = 5000;
/** Idempotency keys are kept 24 hours (the promise to clients), delivered outbox rows 7 days. */
const IDEMPOTENCY_HOURS = 24;
const OUTBOX_DELIVERED_DAYS = 7;

export interface Cleaned {
  ledger: number;
  idempotencyKeys: number;
  outboxEvents: number;
}

/**
 * Deletes what no longer serves: processed webhook events after `LEDGER_RETENTION_DAYS` (at least
 * 30, well past Stripe's 3 days of retries, so that a late duplicate still finds its row),
 * idempotency keys after 24 hours, and outbox events once every delivery is done and a week old
 * (dead ones stay until staff act). Every `CLEANUP_INTERVAL_SECONDS` on every instance: deletes
 * are idempotent, and concurrent runs skip each other's rows.
 */
@Injectable()
export class RetentionJob implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(RetentionJob.name);
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly orm: MikroORM,
    private readonly config: AppConfig,
  ) {}

  onApplicationBootstrap(): void {
    const seconds = this.config.retention.intervalSeconds;
    if (seconds === 0) return;
    this.timer = setInterval(() => {
      this.run().catch((error: unknown) =>
        this.logger.warn({ err: (error as Error).message }, 'Cleanup failed; next run later'),
      );
    }, seconds * 1000);
    this.timer.unref();
  }

  onApplicationShutdown(): void {
    clearInterval(this.timer);
  }

  async run(): Promise<Cleaned> {
    const ledgerDays = this.config.retention.ledgerDays;
    const cleaned = {
      ledger: await this.deleteAll(
        `delete from processed_webhook_events where id in (
           select id from processed_webhook_events where received_at < now() - (? * interval '1 day')
           limit ${BATCH} for update skip locked)`,
        [ledgerDays],
      ),
      idempotencyKeys: await this.deleteAll(
        `delete from idempotency_keys where key_hash in (
           select key_hash from idempotency_keys where created_at < now() - (? * interval '1 hour')
           limit ${BATCH} for update skip locked)`,
        [IDEMPOTENCY_HOURS],
      ),
      outboxEvents: await this.deleteAll(
        `delete from outbox_events where id in (
           select e.id from outbox_events e
            where e.created_at < now() - (? * interval '1 day')
              and not exists (select 1 from outbox_deliveries d where d.event_id = e.id and d.status <> 'delivered')
            limit ${BATCH} for update skip locked)`,
        [OUTBOX_DELIVERED_DAYS],
      ),
    };
    if (cleaned.ledger || cleaned.idempotencyKeys || cleaned.outboxEvents)
      this.logger.log(cleaned, 'Cleaned up');
    return cleaned;
  }

  private async deleteAll(sql: string, params: unknown[]): Promise<number> {
    let total = 0;
    for (;;) {
      const em = this.orm.em.fork() as EntityManager;
      const result = await em.getConnection().execute<{ affectedRows?: number }>(sql, params, 'run');
      const deleted = result.affectedRows ?? 0;
      total += deleted;
      if (deleted < BATCH) return total;
    }
  }
}
