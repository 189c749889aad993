import { AsyncLocalStorage } from 'node:async_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  type EntityManager as CoreEntityManager,
  MikroORM,
  RequestContext,
  TransactionContext,
} from '@mikro-orm/core';
import type { EntityManager } from '@mikro-orm/postgresql';
import {
  type BeforeApplicationShutdown,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
} from '@nestjs/common';
import { AppConfig } from '../../config';
import { execute } from '../database/explicit-sql';
import { type Sql, sql } from '../database/sql';
import { decodeEvent } from './event-codec';
import { OutboxRegistry } from './outbox.registry';

/** Deliveries one claim takes. */
const BATCH = 50;
/** Claims running at once in one process: a slow subscriber (a Stripe call) never holds up a push. */
const CONCURRENCY = 4;
/** Shortest wait of the timer, so that rows another instance holds do not spin this one. */
const MIN_WAIT_MS = 50;
/**
 * Deliveries this process holds at most, handed over by its commits or claimed. Beyond, a commit
 * leaves its deliveries unclaimed and wakes every instance (`NOTIFY`) to claim them, and this process
 * claims nothing until some of its own finish: a backlog spreads out.
 */
export const MAX_IN_HAND = 1000;
/**
 * How long successes gather before one statement marks them delivered. Far inside the lease: a
 * process that dies meanwhile only means they run again (at least once).
 */
const MARK_DELAY_MS = 25;

interface Claimed {
  event_id: string;
  subscriber: string;
  attempts: number;
  payload: unknown;
}

/** A delivery this process holds the claim of, ready to run (a row is one event for one subscriber). */
export interface HeldDelivery {
  eventId: string;
  subscriber: string;
  /** 1 for the first try. */
  attempt: number;
  /** The event as recorded, or its stored JSON (decoded when it runs). */
  event: { recorded: object } | { payload: unknown };
  /** `Date.now()` before the claim was sent: its lease runs from a moment after this. */
  claimedAt: number;
}

/**
 * When a pending delivery may be claimed: its next attempt, or the end of its lease if an instance
 * holds it. Written exactly as `outbox_deliveries_due_at_index` is built, so that a claim reads only
 * the deliveries that are due, however many are held, and the earliest is the index's first entry.
 */
const DUE_AT = 'greatest(next_attempt_at, coalesce(locked_until, next_attempt_at))';

/** How long until the earliest pending delivery may be claimed, in ms (the relay's timer). */
export const NEXT_DUE = `select extract(epoch from min(${DUE_AT}) - now()) * 1000 as ms
                           from outbox_deliveries where status = 'pending'`;

/**
 * Claims due deliveries (`FOR UPDATE SKIP LOCKED`, so instances never take the same row), reserves
 * them for the lease, and marks them pending again only after a failure. Claimed rows whose lease
 * ran out (their instance died) are due again. The longest due first.
 */
export const CLAIM = `
  with due as (
    select id from outbox_deliveries
     where status = 'pending' and ${DUE_AT} <= now()
     order by ${DUE_AT}, id
     limit ?
     for update skip locked
  )
  update outbox_deliveries d
     set locked_until = now() + (? * interval '1 millisecond'), attempts = d.attempts + 1
    from due, outbox_events e
   where d.id = due.id and e.id = d.event_id
  returning d.event_id, d.subscriber, d.attempts, e.payload`;

/**
 * Runs the durable subscribers of committed events, on every instance.
 *
 * - A commit in this process writes its deliveries already claimed by this process (under a lease,
 *   `OutboxWriter`) and hands them over right after it (`runHeld`): no claim, no round trip before
 *   the subscriber runs. A process that dies first leaves them to the others once the lease ends.
 * - Everything else (retries, deliveries another instance left unclaimed or lost with its lease) is
 *   claimed from the table: woken by `LISTEN/NOTIFY` (`OutboxListener`) and by a timer
 *   (`OUTBOX_POLL_SECONDS`, and the next retry's time).
 *
 * Delivery is at least once: a subscriber that throws (or exceeds its deadline) is retried on
 * `OUTBOX_RETRY_SCHEDULE`, then dead-lettered; an instance that dies holding a claim loses it when
 * the lease (`OUTBOX_LEASE_SECONDS`) runs out. Subscribers are idempotent by event id. Successes are
 * marked in batches (one statement for whatever succeeded meanwhile).
 */
@Injectable()
export class OutboxRelay implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(OutboxRelay.name);
  private readonly running = new Set<Promise<void>>();
  private workers = 0;
  private more = false;
  private stopping = false;
  private timer?: NodeJS.Timeout;
  /** When the timer fires (`Date.now()` ms). */
  private timerAt = Infinity;
  private unreachable = false;
  /** Deliveries running now, claimed or handed over. */
  private inHand = 0;
  /** A claim was skipped for want of room in hand: claim again once a delivery finishes. */
  private clogged = false;
  /** Deliveries done but not yet marked so, and the statement marking the previous ones. */
  private delivered: { event_id: string; subscriber: string }[] = [];
  private marking?: Promise<void>;
  private markFailed = false;
  /** Made at first use (`em`). */
  private statements?: EntityManager;

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
    await this.marking;
  }

  /**
   * Whether a commit about to happen may claim its deliveries for this process (then it must pass
   * them to `runHeld` once committed). Not while stopping, nor with a backlog in hand.
   */
  takesHandOver(): boolean {
    return !this.stopping && this.inHand < MAX_IN_HAND;
  }

  /**
   * Runs deliveries that a commit of this process wrote already claimed by it. Called right after
   * the commit: the subscribers start now, in this tick (a push leaves before anything else waits).
   */
  runHeld(deliveries: readonly HeldDelivery[]): void {
    for (const delivery of deliveries) void this.deliver(delivery);
  }

  /** Something may be due: start a claim now (or right after the current ones). */
  wake(): void {
    if (this.stopping) return;
    if (this.workers >= CONCURRENCY) {
      this.more = true;
      return;
    }
    this.workers++;
    this.track(
      this.work().finally(() => {
        this.workers--;
        if (this.workers === 0) void this.scheduleTimer();
      }),
    );
  }

  private track(work: Promise<void>): void {
    this.running.add(work);
    void work.finally(() => this.running.delete(work));
  }

  /** Claims and delivers batches until nothing is due (or the database fails). */
  private async work(): Promise<void> {
    try {
      for (;;) {
        this.more = false;
        // Never more in hand than MAX_IN_HAND: past it, what is due is left to the other instances.
        const room = Math.min(BATCH, MAX_IN_HAND - this.inHand);
        if (room <= 0) {
          this.clogged = true;
          return;
        }
        const claimedAt = Date.now();
        const claimed = await this.claim(room);
        await Promise.all(
          claimed.map(async (row) =>
            this.deliver({
              eventId: row.event_id,
              subscriber: row.subscriber,
              attempt: Number(row.attempts),
              event: { payload: row.payload },
              claimedAt,
            }),
          ),
        );
        if (this.stopping || (claimed.length < room && !this.more)) return;
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

  private async claim(limit: number): Promise<Claimed[]> {
    const leaseMs = this.config.outbox.leaseSeconds * 1000;
    const claimed = await this.em().getConnection().execute<Claimed[]>(CLAIM, [limit, leaseMs]);
    if (this.unreachable) {
      this.unreachable = false;
      this.logger.log('Outbox relay reads its deliveries again');
    }
    return claimed;
  }

  /**
   * Runs one delivery and records its outcome. Never throws. A subscriber that finishes at once (a
   * socket push) is marked done at once: no promise, no deadline timer. One that returns a promise
   * is awaited under its deadline (and tracked, so that shutdown waits for it); the promise this
   * returns then settles once its outcome is recorded.
   */
  private deliver(delivery: HeldDelivery): Promise<void> | undefined {
    this.inHand++;
    let outcome: unknown;
    try {
      outcome = this.start(delivery);
    } catch (error) {
      this.released();
      return this.tracked(this.recordFailure(delivery, error));
    }
    if (isThenable(outcome)) return this.tracked(this.settle(delivery, outcome));
    this.released();
    this.markDelivered(delivery);
    return undefined;
  }

  /** A delivery left this process's hands: if a claim was skipped for want of room, it runs now. */
  private released(): void {
    this.inHand--;
    if (this.clogged && this.inHand < MAX_IN_HAND) {
      this.clogged = false;
      this.wake();
    }
  }

  private async settle(delivery: HeldDelivery, outcome: PromiseLike<unknown>): Promise<void> {
    // Well inside the lease, so that no other instance claims a delivery still running here.
    const deadlineMs = delivery.claimedAt + this.config.outbox.leaseSeconds * 800 - Date.now();
    try {
      await withDeadline(outcome, deadlineMs);
    } catch (error) {
      return this.recordFailure(delivery, error);
    } finally {
      this.released();
    }
    this.markDelivered(delivery);
  }

  private async recordFailure(delivery: HeldDelivery, error: unknown): Promise<void> {
    await this.failed(delivery, error).catch((failure: unknown) =>
      // Not recorded: the claim's lease runs out and the delivery is tried again.
      this.logger.warn(
        { subscriber: delivery.subscriber, eventId: delivery.eventId, err: describe(failure) },
        'Could not record a failed durable delivery; it is retried after its lease',
      ),
    );
  }

  private tracked(work: Promise<void>): Promise<void> {
    this.track(work);
    return work;
  }

  /** Calls the subscriber; returns what it returns (a promise if it works asynchronously). */
  private start(delivery: HeldDelivery): unknown {
    const subscriber = this.registry.find(delivery.subscriber);
    if (!subscriber) throw new Error(`No durable subscriber "${delivery.subscriber}" in this version`);
    if (this.config.outbox.testCrashBefore === subscriber.name) {
      this.logger.warn({ subscriber: subscriber.name, eventId: delivery.eventId }, 'Test hook: crashing now');
      process.kill(process.pid, 'SIGKILL');
    }
    const event =
      'recorded' in delivery.event
        ? delivery.event.recorded
        : decodeEvent(subscriber.event, delivery.event.payload as object);
    return ownUnitOfWork(this.orm.em, () =>
      subscriber.handle(event, { eventId: delivery.eventId, attempt: delivery.attempt }),
    );
  }

  /**
   * Marks a delivery done, together with the others that succeed within `MARK_DELAY_MS` or while
   * the previous mark is on its way: one statement per batch. A mark that fails leaves the rows
   * claimed; they are delivered again once the lease runs out (at least once).
   */
  private markDelivered({ eventId, subscriber }: HeldDelivery): void {
    this.delivered.push({ event_id: eventId, subscriber });
    this.marking ??= (this.stopping ? Promise.resolve() : sleep(MARK_DELAY_MS))
      .then(() => this.markAll())
      .finally(() => (this.marking = undefined));
  }

  private async markAll(): Promise<void> {
    while (this.delivered.length > 0) {
      const done = this.delivered;
      this.delivered = [];
      try {
        // An explicit statement (prepared, its JSON quoted natively), not MikroORM's `execute`,
        // which quotes a string parameter as long as the batch a character at a time.
        await execute(this.em(), markDeliveredStatement(done));
        if (this.markFailed) {
          this.markFailed = false;
          this.logger.log('Outbox relay marks its deliveries again');
        }
      } catch (error) {
        if (!this.markFailed) {
          this.markFailed = true;
          this.logger.warn(
            { err: describe(error), deliveries: done.length },
            'Could not mark durable deliveries done; they run again after their lease',
          );
        }
      }
    }
  }

  private async failed(delivery: HeldDelivery, error: unknown): Promise<void> {
    const { attempt } = delivery;
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
          where event_id = ? and subscriber = ? and status = 'pending'`,
        [dead ? 'dead' : 'pending', message, waitMs, delivery.eventId, delivery.subscriber],
      );
    const context = {
      subscriber: delivery.subscriber,
      eventId: delivery.eventId,
      attempt,
      err: message,
    };
    if (dead) {
      this.logger.error(context, 'Durable delivery dead-lettered after its last retry');
    } else {
      this.logger.warn(context, `Durable delivery failed; retry in ${waitMs / 1000} s`);
      this.setTimer(waitMs);
    }
  }

  /** Sleeps until the next retry is due, or the safety-net interval, whichever comes first. */
  private async scheduleTimer(): Promise<void> {
    if (this.stopping) return;
    let waitMs = this.config.outbox.pollSeconds * 1000;
    try {
      const [next] = await this.em().getConnection().execute<{ ms: number | string | null }[]>(NEXT_DUE);
      if (next?.ms !== null && next?.ms !== undefined) waitMs = Math.min(waitMs, Number(next.ms));
    } catch {
      // Unreachable: try again after the interval.
    }
    if (this.workers > 0) return;
    this.setTimer(waitMs);
  }

  /** Wakes the relay in `waitMs`, unless the timer already does so sooner. */
  private setTimer(waitMs: number): void {
    if (this.stopping) return;
    const at = Date.now() + Math.max(MIN_WAIT_MS, waitMs);
    if (at >= this.timerAt) return;
    clearTimeout(this.timer);
    this.timerAt = at;
    this.timer = setTimeout(() => {
      this.timerAt = Infinity;
      this.wake();
    }, at - Date.now());
    this.timer.unref();
  }

  /**
   * The entity manager of the relay's own statements (clearing claims, claiming, marking, retrying,
   * the timer's): they use its connection and never its unit of work, so one fork serves them all.
   * A fork each cost a batch of marks about 70 µs (1% of a webhook's CPU).
   */
  private em(): EntityManager {
    return (this.statements ??= this.orm.em.fork() as EntityManager);
  }
}

/**
 * Marks deliveries done: each row found by its unique key (one index lookup per delivery), then
 * updated by its primary key, if still pending. Written so that no plan can go through every pending
 * row: joined to the batch as a table, with `status = 'pending'`, PostgreSQL took the partial index of
 * pending rows and hashed all of them (its statistics put them at a few dozen), 2-3 ms a batch with
 * a few thousand pending, and more as a backlog grows, just when marking must keep up. The status
 * test (`<> all`: pending, by the table's check) leaves that index out of the plan.
 */
export function markDeliveredStatement(done: readonly { event_id: string; subscriber: string }[]): Sql {
  return sql`update outbox_deliveries d
                set status = 'delivered', delivered_at = now(), locked_until = null
              where d.id = any(array(
                      select (select x.id from outbox_deliveries x
                               where x.event_id = done.event_id and x.subscriber = done.subscriber)
                        from json_to_recordset(${JSON.stringify(done)}::json) as done (event_id uuid, subscriber text)))
                and d.status <> all('{delivered,dead}')`;
}

function describe(error: unknown): string {
  const text = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  return text.slice(0, 500);
}

/** MikroORM's async-local stores of its contexts (static members its types keep private). */
const contexts = {
  request: (RequestContext as unknown as { storage?: AsyncLocalStorage<RequestContext> }).storage,
  transaction: (TransactionContext as unknown as { storage?: AsyncLocalStorage<TransactionContext> }).storage,
};

/**
 * Runs `work` in a unit of work of its own, outside any transaction: a delivery started by a commit
 * still runs in that committed transaction's async context, which must not leak into the
 * subscriber. The unit of work is forked when `work` first uses the database, so a delivery that
 * never does (a socket push) costs no fork. Should a MikroORM version store its contexts
 * differently, it is forked up front, as `RequestContext.create` does.
 */
function ownUnitOfWork<T>(root: CoreEntityManager, work: () => T): T {
  const { request, transaction } = contexts;
  if (!(request instanceof AsyncLocalStorage && transaction instanceof AsyncLocalStorage)) {
    return RequestContext.create(root, () =>
      TransactionContext.create(RequestContext.getEntityManager()!, work),
    );
  }
  const context = new RequestContext(new ForkOnFirstUse(root));
  return transaction.exit(() => request.run(context, work));
}

/** A request context's entity managers, each forked from `root` on its first use. */
class ForkOnFirstUse extends Map<string, CoreEntityManager> {
  /** A fork is being built: its constructor resolves its context, which must not fork again. */
  private forking = false;

  constructor(private readonly root: CoreEntityManager) {
    super();
  }

  override get(name: string): CoreEntityManager | undefined {
    let em = super.get(name);
    if (!em && name === this.root.name && !this.forking) {
      this.forking = true;
      try {
        // Forked from the global manager itself: resolving its context would come back here.
        em = this.root.fork({ useContext: true, disableContextResolution: true });
      } finally {
        this.forking = false;
      }
      this.set(name, em);
    }
    return em;
  }
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    typeof value === 'object' && value !== null && typeof (value as PromiseLike<unknown>).then === 'function'
  );
}

async function withDeadline<T>(work: PromiseLike<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`Did not finish within ${Math.round(ms)} ms`)), ms);
  });
  try {
    return await Promise.race([work, deadline]);
  } finally {
    clearTimeout(timer);
  }
}
