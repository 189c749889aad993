import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { AppConfig } from '../../config';
import type { Sql } from '../database/explicit-sql';
import { eventNameOf } from '../domain-event';
import { encodeEvent } from './event-codec';
import { OutboxRegistry } from './outbox.registry';
import { OutboxRelay } from './outbox.relay';
import { OUTBOX_CHANNEL } from './outbox.writer';

/** What one statement must hold so that its events reach their durable subscribers. */
export interface OutboxPart {
  /** The `outbox_events` and `outbox_deliveries` inserts (none when nobody subscribes). */
  parts: Sql[];
  /** What the statement answers: on PostgreSQL, the `NOTIFY` that wakes every instance's relay at commit. */
  select: Sql | undefined;
  /** To call once the statement committed: wakes this instance's relay at once. */
  committed(): void;
}

/**
 * The outbox rows of events recorded by an aggregate that is stored with one explicit statement
 * (see `shared/database/explicit-sql.ts`) instead of an ORM transaction, whose commit hook
 * (`OutboxWriter`) would write them: the same rows, as parts of that statement, so that the change
 * and its reactions commit together or not at all.
 */
@Injectable()
export class OutboxRows {
  constructor(
    private readonly registry: OutboxRegistry,
    private readonly relay: OutboxRelay,
    private readonly config: AppConfig,
  ) {}

  of(recorded: readonly object[]): OutboxPart {
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
    if (events.length === 0) return { parts: [], select: undefined, committed: () => undefined };
    return {
      parts: [
        {
          text: `insert into outbox_events (id, name, payload, created_at) values ${rows(events.length / 3, '(?, ?, ?::jsonb, now())')}`,
          params: events,
        },
        {
          text: `insert into outbox_deliveries (event_id, subscriber, status, attempts, next_attempt_at, created_at) values ${rows(deliveries.length / 2, "(?, ?, 'pending', 0, now(), now())")}`,
          params: deliveries,
        },
      ],
      // Delivered by PostgreSQL at commit, and only if it commits.
      select:
        this.config.database.kind === 'postgresql'
          ? { text: `select pg_notify('${OUTBOX_CHANNEL}', '')`, params: [] }
          : undefined,
      committed: () => this.relay.wake(),
    };
  }
}

function rows(count: number, row: string): string {
  return Array.from({ length: count }, () => row).join(', ');
}
