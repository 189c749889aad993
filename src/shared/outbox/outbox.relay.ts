import { MikroORM, RequestContext, TransactionContext } from '@mikro-orm/core';
import type { EntityManager } from '@mikro-orm/postgresql';
import {
  type BeforeApplicationShutdown,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
} from '@nestjs/common';
import { AppConfig } from '../../config';
import { decodeEvent } from './event-codec';
import { OutboxRegistry } from './outbox.registry';

/** Deliveries one claim takes. */
const BATCH = 50;
/** Claims running at once in one process: a slow subscriber (a Stripe call) never holds up a push. */
const CONCURRENCY = 4;
/** Shortest wait of the timer, so that rows another instance holds do not spin this one. */
const MIN_WAIT_MS = 50;

interface Claimed {
  id: string;
  event_id: string;
  subscriber: string;
  attempts: number;
  payload: unknown;
}

/**
 * Claims due deliveries (`FOR UPDATE SKIP LOCKED`, so instances never take the same row), reserves
 * them for the lease, and marks them pending again only after a failure. Claimed rows whose lease
 * ran out (their instance died) are due again.
 */
const CLAIM = `
  with due as (
    select id from outbox_deliveries
     where status = 'pending' and next_attempt_at <= now()
       and (locked_until is null or locked_until <= now())
     order by next_attempt_at, id
     limit ?
     for update skip locked
  )
  update outbox_deliveries d
     set locked_until = now() + (? * interval '1 millisecond'), attempts = d.attempts + 1
    from due, outbox_events e
   where d.id = due.id and e.id = d.event_id
  returning d.id, d.event_id, d.subscriber, d.attempts, e.payload`;

/**
 * Runs the durable subscribers of committed events, on every instance. Woken at once by commits in
 * this process (`OutboxWriter`) and, on PostgreSQL, by `LISTEN/NOTIFY` from the others
 * (`OutboxListener`); a timer (`OUTBOX_POLL_SECONDS`, and the next retry's time) is the safety net.
 *
 * Delivery is at least once: a subscriber that throws (or exceeds its deadline) is retried on
 * `OUTBOX_RETRY_SCHEDULE`, then dead-lettered; an instance that dies holding a claim loses it when
 * the lease (`OUTBOX_LEASE_SECONDS`) runs out. Subscribers are idempotent by event id.
 */
@Injectable()
export class OutboxRelay implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(OutboxRelay.name);
  private readonly running = new Set<Promise<void>>();
  private workers = 0;
  private more = false;
  private stopping = false;
  private timer?: NodeJS.Timeout;
  private unreachable = false;

  constructor(
    private readonly orm: MikroORM,
    private readonly registry: OutboxRegistry,
    private readonly config: AppConfig,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    if (this.config.database.kind === 'pglite') {
      // The embedded database belongs to this one process: a claim left behind is a previous run's.
      await this.em()
        .getConnection()
        .execute(
          `update outbox_deliveries set locked_until = null where status = 'pending' and locked_until is not null`,
        );
    }
    this.wake();
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.stopping = true;
    clearTimeout(this.timer);
    await Promise.allSettled([...this.running]);
  }

  /** Something may be due: start a claim now (or right after the current ones). */
  wake(): void {
    if (this.stopping) return;
    if (this.workers >= CONCURRENCY) {
      this.more = true;
      return;
    }
    this.workers++;
    const work = this.work().finally(() => {
      this.running.delete(work);
      this.workers--;
      if (this.workers === 0) void this.scheduleTimer();
    });
    this.running.add(work);
  }

  /** Claims and delivers batches until nothing is due (or the database fails). */
  private async work(): Promise<void> {
    try {
      for (;;) {
        this.more = false;
        const claimed = await this.claim();
        await Promise.all(claimed.map((row) => this.deliver(row)));
        if (this.stopping || (claimed.length < BATCH && !this.more)) return;
      }
    } catch (error) {
      if (!this.unreachable) {
        this.unreachable = true;
        this.logger.warn(
          { err: (error as Error).message },
          'Outbox relay cannot read its deliveries; retrying',
        );
      }
    }
  }

  private async claim(): Promise<Claimed[]> {
    const leaseMs = this.config.outbox.leaseSeconds * 1000;
    const claimed = await this.em().getConnection().execute<Claimed[]>(CLAIM, [BATCH, leaseMs]);
    if (this.unreachable) {
      this.unreachable = false;
      this.logger.log('Outbox relay reads its deliveries again');
    }
    return claimed;
  }

  private async deliver(row: Claimed): Promise<void> {
    const subscriber = this.registry.find(row.subscriber);
    const attempt = Number(row.attempts);
    try {
      if (!subscriber) throw new Error(`No durable subscriber "${row.subscriber}" in this version`);
      if (this.config.outbox.testCrashBefore === subscriber.name) {
        this.logger.warn({ subscriber: subscriber.name, eventId: row.event_id }, 'Test hook: crashing now');
        process.kill(process.pid, 'SIGKILL');
      }
      const event = decodeEvent(subscriber.event, row.payload as object);
      // A unit of work of its own, outside any transaction: a relay woken by a commit still runs in
      // that committed transaction's async context, which must not leak into the subscriber.
      const em = this.orm.em.fork();
      await withDeadline(
        TransactionContext.create(em, () =>
          RequestContext.create(em, () => subscriber.handle(event, { eventId: row.event_id, attempt })),
        ),
        // Well inside the lease, so that no other instance claims a delivery still running here.
        this.config.outbox.leaseSeconds * 800,
      );
    } catch (error) {
      await this.failed(row, attempt, error);
      return;
    }
    await this.em()
      .getConnection()
      .execute(
        `update outbox_deliveries set status = 'delivered', delivered_at = now(), locked_until = null
          where id = ? and status = 'pending'`,
        [row.id],
      );
  }

  private async failed(row: Claimed, attempt: number, error: unknown): Promise<void> {
    const schedule = this.config.outbox.retryScheduleSeconds;
    const dead = attempt > schedule.length;
    const message = describe(error);
    const waitMs = dead ? 0 : schedule[attempt - 1] * 1000;
    await this.em()
      .getConnection()
      .execute(
        `update outbox_deliveries
            set status = ?, last_error = ?, locked_until = null,
                next_attempt_at = now() + (? * interval '1 millisecond')
          where id = ? and status = 'pending'`,
        [dead ? 'dead' : 'pending', message, waitMs, row.id],
      );
    const context = { subscriber: row.subscriber, eventId: row.event_id, attempt, err: message };
    if (dead) this.logger.error(context, 'Durable delivery dead-lettered after its last retry');
    else this.logger.warn(context, `Durable delivery failed; retry in ${waitMs / 1000} s`);
  }

  /** Sleeps until the next retry is due, or the safety-net interval, whichever comes first. */
  private async scheduleTimer(): Promise<void> {
    if (this.stopping) return;
    let waitMs = this.config.outbox.pollSeconds * 1000;
    try {
      const [next] = await this.em()
        .getConnection()
        .execute<{ ms: number | string | null }[]>(
          `select extract(epoch from min(greatest(next_attempt_at, coalesce(locked_until, next_attempt_at))) - now()) * 1000 as ms
             from outbox_deliveries where status = 'pending'`,
        );
      if (next?.ms !== null && next?.ms !== undefined) waitMs = Math.min(waitMs, Number(next.ms));
    } catch {
      // Unreachable: try again after the interval.
    }
    if (this.stopping || this.workers > 0) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.wake(), Math.max(MIN_WAIT_MS, waitMs));
    this.timer.unref();
  }

  private em(): EntityManager {
    return this.orm.em.fork() as EntityManager;
  }
}

function describe(error: unknown): string {
  const text = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  return text.slice(0, 500);
}

async function withDeadline<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`Did not finish within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([work, deadline]);
  } finally {
    clearTimeout(timer);
  }
}
