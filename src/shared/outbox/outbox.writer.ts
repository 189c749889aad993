import { randomUUID } from 'node:crypto';
import { type EventSubscriber, MikroORM, type TransactionEventArgs } from '@mikro-orm/core';
import { Injectable, type OnModuleInit } from '@nestjs/common';
import { AppConfig } from '../../config';
import { eventNameOf, recordsDomainEvents } from '../domain-event';
import { encodeEvent } from './event-codec';
import { OutboxRegistry } from './outbox.registry';
import { OutboxRelay } from './outbox.relay';

/** The LISTEN/NOTIFY channel that wakes every instance's relay when deliveries commit. */
export const OUTBOX_CHANNEL = 'outbox_deliveries';

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
}

function rows(count: number, row: string): string {
  return Array.from({ length: count }, () => row).join(', ');
}
