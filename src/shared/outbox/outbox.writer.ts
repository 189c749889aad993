import { randomUUID } from 'node:crypto';
import { type EventSubscriber, MikroORM, type TransactionEventArgs } from '@mikro-orm/core';
import { Injectable, type OnModuleInit } from '@nestjs/common';
import { AppConfig } from '../../config';
import { Sql, sql, type WriteStatement } from '../database/sql';
import type { SqlTransaction } from '../database/sql-transactions';
import { IdempotencyEffectMarker } from '../idempotency/idempotency-effect.marker';
import { eventNameOf, recordsDomainEvents } from '../domain-event';
import { encodeEvent } from './event-codec';
import { OutboxRegistry } from './outbox.registry';
import { type HeldDelivery, OutboxRelay } from './outbox.relay';

/** The LISTEN/NOTIFY channel that wakes every instance's relay when deliveries commit. */
export const OUTBOX_CHANNEL = 'outbox_deliveries';

/** What `OutboxWriter` added to a write statement. */
interface OutboxWrite {
  /** An expression for the statement's final select (it sends the `NOTIFY`, when one is needed). */
  result: Sql;
  /** To call once the transaction committed. */
  committed(): void;
}

/**
 * Rows for one table: `insert into <table> (<columns>) values <values>`, or, to apply them only when
 * a condition holds, `insert into <table> (<columns>) select * from (values <values>) as v where …`
 * (every value carries its type, so both forms work). `?` placeholders, `params` in order.
 */
export interface OutboxInsert {
  table: 'outbox_events' | 'outbox_deliveries';
  columns: string;
  values: string;
  params: unknown[];
}

/** The outbox rows of a change, to write in its transaction (see `OutboxWriter.rowsOf`). */
export interface OutboxRows {
  events: OutboxInsert;
  /** One row per event and durable subscriber. */
  deliveries: OutboxInsert;
  /** Whether the transaction must also `select pg_notify('outbox_deliveries', '')`. */
  notify: boolean;
  /** To call once the transaction committed (and only if it inserted these rows). */
  committed: () => void;
}

/**
 * Writes the domain events that aggregates recorded into the outbox, inside the very transaction
 * that stores the change (MikroORM's `beforeTransactionCommit`, after the flush): the change and
 * its reactions commit together or not at all. The deliveries are written claimed by this process
 * (attempt 1, under the lease) and handed to its relay right after the commit, which runs them at
 * once; if this process dies first, another instance claims them when the lease ends. A process
 * that is stopping or has a backlog leaves them unclaimed instead, and on PostgreSQL a `NOTIFY`,
 * sent by the same commit, wakes every instance to claim them. Transactions of explicit statements
 * write the same rows through `rowsOf`.
 */
@Injectable()
export class OutboxWriter implements EventSubscriber, OnModuleInit {
  /** What to do once a transaction that wrote outbox rows commits. */
  private readonly committed = new WeakMap<object, () => void>();

  constructor(
    private readonly orm: MikroORM,
    private readonly registry: OutboxRegistry,
    private readonly relay: OutboxRelay,
    private readonly config: AppConfig,
  ) {}

  onModuleInit(): void {
    this.orm.em.getEventManager().registerSubscriber(this);
  }

  async beforeTransactionCommit({ em, transaction }: TransactionEventArgs): Promise<void> {
    const recorded = [...em.getUnitOfWork().getIdentityMap()]
      .filter(recordsDomainEvents)
      .flatMap((entity) => entity.pullDomainEvents());
    const rows = this.rowsOf(recorded);
    if (!rows || !transaction) return;
    const connection = em.getConnection();
    // One statement (one round trip) for the events and their deliveries: the deliveries' foreign
    // key is checked at the statement's end, when the events are there.
    await connection.execute(
      `with events as (${insertSql(rows.events)}) ${insertSql(rows.deliveries)}`,
      [...rows.events.params, ...rows.deliveries.params],
      'run',
      transaction,
    );
    if (rows.notify) {
      await connection.execute(`select pg_notify('${OUTBOX_CHANNEL}', '')`, [], 'run', transaction);
    }
    this.committed.set(transaction as object, rows.committed);
  }

  afterTransactionCommit({ transaction }: TransactionEventArgs): void {
    if (!transaction) return;
    const committed = this.committed.get(transaction as object);
    if (!committed) return;
    this.committed.delete(transaction as object);
    committed();
  }

  /**
   * The outbox rows of `recorded` events, for any transaction that commits a change: this class's
   * own hook, or a transaction of explicit statements. Null when no durable subscriber listens to
   * them. The caller runs both inserts in the transaction (both in one statement is best: the
   * deliveries' foreign key is checked at its end), and `select pg_notify('outbox_deliveries', '')`
   * too when `notify` says so; once the transaction has committed, and only if it inserted these
   * rows, it calls `committed()`.
   *
   * The deliveries are claimed for this process (attempt 1, under the lease) and `committed()` hands
   * them to its relay, which runs them at once: no claim, no NOTIFY. A process that is stopping or
   * has a backlog writes them unclaimed and notifies instead, so that any instance claims them.
   */
  rowsOf(recorded: readonly object[]): OutboxRows | null {
    const eventParams: unknown[] = [];
    const deliveryParams: unknown[] = [];
    const held: HeldDelivery[] = [];
    // Before the rows are sent: their lease runs from a moment after this.
    const claimedAt = Date.now();
    for (const event of recorded) {
      const name = eventNameOf(event);
      const subscribers = this.registry.subscribersOf(name);
      if (subscribers.length === 0) continue;
      const id = randomUUID();
      eventParams.push(id, name, encodeEvent(event));
      for (const subscriber of subscribers) {
        deliveryParams.push(id, subscriber.name);
        held.push({
          eventId: id,
          subscriber: subscriber.name,
          attempt: 1,
          event: { recorded: event },
          claimedAt,
        });
      }
    }
    if (eventParams.length === 0) return null;
    const handOver = this.relay.takesHandOver();
    const leaseMs = Math.round(this.config.outbox.leaseSeconds * 1000);
    const delivery = handOver
      ? `(?::uuid, ?::text, 'pending'::text, 1, now(), clock_timestamp() + interval '${leaseMs} milliseconds', now())`
      : `(?::uuid, ?::text, 'pending'::text, 0, now(), null::timestamptz, now())`;
    return {
      events: {
        table: 'outbox_events',
        columns: 'id, name, payload, created_at',
        values: repeat(eventParams.length / 3, '(?::uuid, ?::text, ?::jsonb, now())'),
        params: eventParams,
      },
      deliveries: {
        table: 'outbox_deliveries',
        columns: 'event_id, subscriber, status, attempts, next_attempt_at, locked_until, created_at',
        values: repeat(deliveryParams.length / 2, delivery),
        params: deliveryParams,
      },
      // Delivered by PostgreSQL at commit, and only if it commits.
      notify: !handOver && this.config.database.kind === 'postgresql',
      committed: handOver ? () => this.relay.runHeld(held) : () => this.relay.wake(),
    };
  }

  /**
   * Commits a transaction of explicit statements (the webhook's, a checkout's) with its write
   * statement `into`, to which it adds what an ORM transaction's commit hooks would write: the
   * outbox rows of `events` (`write`) and the mark of the request's `Idempotency-Key`. Once
   * committed, with the gate holding, it runs what follows a commit (the relay's hand-over, the
   * mark's bookkeeping) and answers true; false when the gate did not hold (nothing was written).
   */
  async commit(tx: SqlTransaction, into: WriteStatement, events: readonly object[]): Promise<boolean> {
    const mark = IdempotencyEffectMarker.writeInto(into);
    const outbox = this.write(into, events);
    const [result] = await tx.commit<{ ok: boolean }>(into.build(outbox ? { outbox: outbox.result } : {}));
    if (!result.ok) return false;
    outbox?.committed();
    mark.committed();
    return true;
  }

  /**
   * The outbox rows of `events` in a write statement of explicit statements, instead of
   * `beforeTransactionCommit`; the registry says who subscribes, as there, so that a new
   * `@OnDurableEvent` gets its rows on this way too (applied only when the statement's gate holds).
   * Null when no durable subscriber listens to them. Otherwise `result`, an expression for the
   * statement's final select (it sends the `NOTIFY`), and `committed`, to call once committed.
   */
  private write(into: WriteStatement, events: readonly object[]): OutboxWrite | null {
    const rows = this.rowsOf(events);
    if (!rows) return null;
    const gated = ({ table, columns, values, params }: OutboxInsert) =>
      sql`${Sql.withValues(`insert into ${table} (${columns}) select * from (values ${values}) as outbox_row`, params)}
        where ${into.when}`;
    into.add(gated(rows.events));
    // The events' rows come from the same statement: the foreign key is checked at its end.
    into.add(gated(rows.deliveries));
    return {
      // Delivered by PostgreSQL at commit, and only if it commits.
      result: rows.notify
        ? sql`(select count(*) from (select pg_notify(${OUTBOX_CHANNEL}, '') where ${into.when}) as notified)`
        : Sql.raw('0'),
      committed: rows.committed,
    };
  }
}

/** The plain form of an `OutboxInsert`. */
export function insertSql({ table, columns, values }: OutboxInsert): string {
  return `insert into ${table} (${columns}) values ${values}`;
}

function repeat(count: number, row: string): string {
  return Array.from({ length: count }, () => row).join(', ');
}
