import { randomUUID } from 'node:crypto';
import { type EventSubscriber, MikroORM, type TransactionEventArgs } from '@mikro-orm/core';
import { Injectable, type OnModuleInit } from '@nestjs/common';
import { AppConfig } from '../../config';
import { Sql, sql, type WriteStatement } from '../database/sql';
import { eventNameOf, recordsDomainEvents } from '../domain-event';
import { encodeEvent } from './event-codec';
import { OutboxRegistry } from './outbox.registry';
import { OutboxRelay } from './outbox.relay';

/** The LISTEN/NOTIFY channel that wakes every instance's relay when deliveries commit. */
export const OUTBOX_CHANNEL = 'outbox_deliveries';

/** What `OutboxWriter.write` added to a write statement. */
export interface OutboxWrite {
  /** An expression for the statement's final select. */
  result: Sql;
  /** To call with `result`'s value once the transaction committed. */
  committed(result: unknown): void;
}

/**
 * Writes the domain events that aggregates recorded into the outbox, inside the very transaction
 * that stores the change (MikroORM's `beforeTransactionCommit`, after the flush): the change and
 * its reactions commit together or not at all. After the commit it wakes the relay of this process
 * at once; on PostgreSQL a `NOTIFY`, sent by the same commit, wakes the other instances.
 */
@Injectable()
export class OutboxWriter implements EventSubscriber, OnModuleInit {
  /** Transactions that wrote deliveries, so that their commit wakes the relay. */
  private readonly wrote = new WeakSet<object>();

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
    const events: unknown[] = [];
    const deliveries: unknown[] = [];
    for (const event of recorded) {
      const name = eventNameOf(event);
      const subscribers = this.registry.subscribersOf(name);
      if (subscribers.length === 0) continue;
      const id = randomUUID();
      events.push(id, name, encodeEvent(event));
      for (const subscriber of subscribers) deliveries.push(id, subscriber.name);
    }
    if (events.length === 0) return;
    const connection = em.getConnection();
    await connection.execute(
      `insert into outbox_events (id, name, payload, created_at) values ${rows(events.length / 3, '(?, ?, ?::jsonb, now())')}`,
      events,
      'run',
      transaction,
    );
    await connection.execute(
      `insert into outbox_deliveries (event_id, subscriber, status, attempts, next_attempt_at, created_at)
       values ${rows(deliveries.length / 2, "(?, ?, 'pending', 0, now(), now())")}`,
      deliveries,
      'run',
      transaction,
    );
    if (this.config.database.kind === 'postgresql') {
      // Delivered by PostgreSQL at commit, and only if it commits.
      await connection.execute(`select pg_notify('${OUTBOX_CHANNEL}', '')`, [], 'run', transaction);
    }
    if (transaction) this.wrote.add(transaction as object);
  }

  afterTransactionCommit({ transaction }: TransactionEventArgs): void {
    if (transaction && this.wrote.has(transaction as object)) this.relay.wake();
  }

  /**
   * The outbox rows of `events`, for a transaction of explicit statements (the webhook's) instead
   * of `beforeTransactionCommit`; the registry says who subscribes, as there, so that a new
   * `@OnDurableEvent` gets its rows on this way too. Added to the transaction's write statement
   * (applied only when its gate holds). Null when no durable subscriber listens to them.
   * Otherwise `result`, an expression for the statement's final select (it sends the `NOTIFY`),
   * whose value goes to `committed` once the transaction committed.
   */
  write(into: WriteStatement, events: readonly object[]): OutboxWrite | null {
    const eventRows: Sql[] = [];
    const deliveryRows: Sql[] = [];
    for (const event of events) {
      const name = eventNameOf(event);
      const subscribers = this.registry.subscribersOf(name);
      if (subscribers.length === 0) continue;
      const id = randomUUID();
      eventRows.push(sql`(${id}::uuid, ${name}::text, ${encodeEvent(event)}::jsonb, now())`);
      for (const subscriber of subscribers) {
        deliveryRows.push(sql`(${id}::uuid, ${subscriber.name}::text, 'pending', 0, now(), now())`);
      }
    }
    if (eventRows.length === 0) return null;
    into.add(sql`insert into outbox_events (id, name, payload, created_at)
      select * from (values ${Sql.join(eventRows, ', ')}) as event where ${into.when}`);
    // The events' rows come from the same statement: the foreign key is checked at its end.
    into.add(sql`insert into outbox_deliveries (event_id, subscriber, status, attempts, next_attempt_at, created_at)
      select * from (values ${Sql.join(deliveryRows, ', ')}) as delivery where ${into.when}`);
    return {
      // Delivered by PostgreSQL at commit, and only if it commits.
      result:
        this.config.database.kind === 'postgresql'
          ? sql`(select count(*) from (select pg_notify(${OUTBOX_CHANNEL}, '') where ${into.when}) as notified)`
          : Sql.raw('0'),
      committed: () => this.relay.wake(),
    };
  }
}

function rows(count: number, row: string): string {
  return Array.from({ length: count }, () => row).join(', ');
}
