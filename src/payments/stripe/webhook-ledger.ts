import { EntityManager } from '@mikro-orm/postgresql';
import { Injectable } from '@nestjs/common';
import { ProcessedWebhookEvent, type WebhookOutcome } from './processed-webhook-event.entity';

/** The processed-event ledger. Both methods must run inside the transaction that applies the event. */
@Injectable()
export class WebhookLedger {
  constructor(private readonly em: EntityManager) {}

  /**
   * Enters a delivery of `eventId`. True for the first delivery, which the caller then applies;
   * false for any later one. A concurrent delivery of the same id waits here on the row until the
   * first one's transaction ends: if that committed, this is a duplicate; if it rolled back, this
   * delivery becomes the first.
   */
  async claim(eventId: string, type: string): Promise<boolean> {
    const [row] = await this.em.execute<{ deliveries: number }[]>(
      `insert into processed_webhook_events (id, type, deliveries, received_at, last_delivery_at)
       values (?, ?, 1, now(), now())
       on conflict (id) do update
         set deliveries = processed_webhook_events.deliveries + 1, last_delivery_at = now()
       returning deliveries`,
      [eventId, type],
    );
    return row.deliveries === 1;
  }

  /** What the event did; `payload` (its raw bytes) only for one we could not read, for staff to replay. */
  async record(
    eventId: string,
    outcome: WebhookOutcome,
    orderId: string | null,
    detail: string,
    payload: string | null = null,
  ): Promise<void> {
    await this.em.nativeUpdate(ProcessedWebhookEvent, { id: eventId }, { outcome, orderId, detail, payload });
  }

  /**
   * Locks an event's row for a replay and returns its outcome (undefined: no such event). Waits for
   * a delivery or replay of the same event that is under way.
   */
  async lockForReplay(eventId: string): Promise<WebhookOutcome | null | undefined> {
    const [row] = await this.em.execute<{ outcome: WebhookOutcome | null }[]>(
      'select outcome from processed_webhook_events where id = ? for update',
      [eventId],
    );
    return row ? row.outcome : undefined;
  }
}
