import { randomUUID } from 'node:crypto';
import { type EventSubscriber, MikroORM, type TransactionEventArgs } from '@mikro-orm/core';
import { Injectable, type OnModuleInit } from '@nestjs/common';
import { AppConfig } from '../../config';
import { eventNameOf, recordsDomainEvents } from '../domain-event';
import { encodeEvent } from './event-codec';
import { OutboxRegistry } from './outbox.registry';
import { type HeldDelivery, OutboxRelay } from './outbox.relay';

/** The LISTEN/NOTIFY channel that wakes every instance's relay when deliveries commit. */
export const OUTBOX_CHANNEL = 'outbox_deliveries';

/**
 * Writes the domain events that aggregates recorded into the outbox, inside the very transaction
 * that stores the change (MikroORM's `beforeTransactionCommit`, after the flush): the change and
 * its reactions commit together or not at all. The deliveries are written claimed by this process
 * (attempt 1, under the lease) and handed to its relay right after the commit, which runs them at
 * once; if this process dies first, another instance claims them when the lease ends. A process
 * that is stopping or has a backlog leaves them unclaimed instead, and on PostgreSQL a `NOTIFY`,
 * sent by the same commit, wakes every instance to claim them.
 */
@Injectable()
export class OutboxWriter implements EventSubscriber, OnModuleInit {
  /** Deliveries claimed for this process by a transaction, run once it commits. */
  private readonly held = new WeakMap<object, HeldDelivery[]>();
  /** Transactions that wrote deliveries for anyone to claim, so that their commit wakes the relay. */
  private readonly unclaimed = new WeakSet<object>();

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
    const byId = new Map<string, object>();
    for (const event of recorded) {
      const name = eventNameOf(event);
      const subscribers = this.registry.subscribersOf(name);
      if (subscribers.length === 0) continue;
      const id = randomUUID();
      byId.set(id, event);
      events.push(id, name, encodeEvent(event));
      for (const subscriber of subscribers) deliveries.push(id, subscriber.name);
    }
    if (events.length === 0) return;
    // Claimed for this process (attempt 1, under a lease) when its relay runs them right after the
    // commit; otherwise left for any instance to claim, and every instance woken by a NOTIFY.
    const handOver = transaction !== undefined && this.relay.takesHandOver();
    const leaseMs = Math.round(this.config.outbox.leaseSeconds * 1000);
    const delivery = handOver
      ? `(?, ?, 'pending', 1, now(), clock_timestamp() + interval '${leaseMs} milliseconds', now())`
      : `(?, ?, 'pending', 0, now(), null, now())`;
    const connection = em.getConnection();
    const claimedAt = Date.now();
    // One statement (one round trip) for the events and their deliveries.
    const written = (await connection.execute(
      `with events as (
         insert into outbox_events (id, name, payload, created_at)
         values ${rows(events.length / 3, '(?, ?, ?::jsonb, now())')}
       )
       insert into outbox_deliveries (event_id, subscriber, status, attempts, next_attempt_at, locked_until, created_at)
       values ${rows(deliveries.length / 2, delivery)}
       returning id, event_id, subscriber`,
      [...events, ...deliveries],
      'all',
      transaction,
    )) as { id: string; event_id: string; subscriber: string }[];
    if (handOver) {
      this.held.set(
        transaction as object,
        written.map((row) => ({
          id: String(row.id),
          eventId: row.event_id,
          subscriber: row.subscriber,
          attempt: 1,
          event: { recorded: byId.get(row.event_id)! },
          claimedAt,
        })),
      );
      return;
    }
    if (this.config.database.kind === 'postgresql') {
      // Delivered by PostgreSQL at commit, and only if it commits.
      await connection.execute(`select pg_notify('${OUTBOX_CHANNEL}', '')`, [], 'run', transaction);
    }
    if (transaction) this.unclaimed.add(transaction as object);
  }

  afterTransactionCommit({ transaction }: TransactionEventArgs): void {
    if (!transaction) return;
    const held = this.held.get(transaction as object);
    if (held) {
      this.held.delete(transaction as object);
      this.relay.runHeld(held);
    } else if (this.unclaimed.has(transaction as object)) {
      this.relay.wake();
    }
  }
}

function rows(count: number, row: string): string {
  return Array.from({ length: count }, () => row).join(', ');
}
