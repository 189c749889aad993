import { EntityManager } from '@mikro-orm/postgresql';
import { Injectable } from '@nestjs/common';
import { DeliveryStatus } from './outbox.entities';

export interface DeadDelivery {
  id: string;
  eventId: string;
  eventName: string;
  subscriber: string;
  attempts: number;
  lastError: string | null;
  createdAt: Date;
}

/**
 * What staff need to know about the outbox: how many deliveries wait, were delivered or died, the
 * dead ones with their last error, and a way to try a dead one again (after fixing its cause).
 */
@Injectable()
export class OutboxMonitor {
  constructor(private readonly em: EntityManager) {}

  async counts(): Promise<Record<DeliveryStatus, number> & { retried: number }> {
    const rows = await this.em
      .getConnection()
      .execute<{ status: DeliveryStatus; n: number; retried: number }[]>(
        `select status, count(*)::int as n, count(*) filter (where attempts > 1)::int as retried
         from outbox_deliveries group by status`,
      );
    const counts = { pending: 0, delivered: 0, dead: 0, retried: 0 };
    for (const row of rows) {
      counts[row.status] = row.n;
      counts.retried += row.retried;
    }
    return counts;
  }

  async dead(limit = 100): Promise<DeadDelivery[]> {
    const rows = await this.em.getConnection().execute<
      {
        id: string;
        event_id: string;
        name: string;
        subscriber: string;
        attempts: number;
        last_error: string | null;
        created_at: Date;
      }[]
    >(
      `select d.id, d.event_id, e.name, d.subscriber, d.attempts, d.last_error, d.created_at
         from outbox_deliveries d join outbox_events e on e.id = d.event_id
        where d.status = 'dead' order by d.created_at desc limit ?`,
      [limit],
    );
    return rows.map((row) => ({
      id: String(row.id),
      eventId: row.event_id,
      eventName: row.name,
      subscriber: row.subscriber,
      attempts: row.attempts,
      lastError: row.last_error,
      createdAt: new Date(row.created_at),
    }));
  }

  /** Puts a dead delivery back in line for one more round of the retry schedule. False if not dead. */
  async retry(deliveryId: string): Promise<boolean> {
    const updated = await this.em.getConnection().execute<{ id: string }[]>(
      `update outbox_deliveries set status = 'pending', attempts = 0, next_attempt_at = now(), locked_until = null
        where id = ? and status = 'dead' returning id`,
      [deliveryId],
    );
    return updated.length === 1;
  }
}
