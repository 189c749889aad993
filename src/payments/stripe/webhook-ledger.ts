import { EntityManager } from '@mikro-orm/postgresql';
import { Injectable } from '@nestjs/common';
import { type Sql, sql, type WriteStatement } from '../../shared/database/sql';
import { ProcessedWebhookEvent, type WebhookOutcome } from './processed-webhook-event.entity';

/** The processed-event ledger. Its writes must run inside the transaction that applies the event. */
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
    const statement = this.claimStatement(eventId, type);
    const [row] = await this.em.execute<{ deliveries: number }[]>(statement.text, [...statement.values]);
    return row.deliveries === 1;
  }

  /** `claim` as a statement of the caller's (`returning deliveries`: 1 for the first delivery). */
  claimStatement(eventId: string, type: string): Sql {
    return sql`insert into processed_webhook_events (id, type, deliveries, received_at, last_delivery_at)
       values (${eventId}, ${type}, 1, now(), now())
       on conflict (id) do update
         set deliveries = processed_webhook_events.deliveries + 1, last_delivery_at = now()
       returning deliveries`;
  }

  /**
   * A delivery of an event that takes no effect beyond its ledger row (a type we do not act on):
   * claimed and recorded in one statement, a transaction of its own. `returning deliveries`, as
   * `claimStatement`; a later delivery keeps the first one's outcome.
   */
  claimRecordedStatement(eventId: string, type: string, outcome: WebhookOutcome, detail: string): Sql {
    return sql`insert into processed_webhook_events
         (id, type, outcome, order_id, detail, deliveries, received_at, last_delivery_at)
       values (${eventId}, ${type}, ${outcome}, null, ${detail}, 1, now(), now())
       on conflict (id) do update
         set deliveries = processed_webhook_events.deliveries + 1, last_delivery_at = now()
       returning deliveries`;
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
   * `record` (without a payload) in a write statement of the caller's. If its gate fails, the claim
   * this transaction took is given back instead (the delivery was not applied, and will be decided
   * again from the start, or by a concurrent delivery that waited for the row).
   */
  writeRecord(
    into: WriteStatement,
    eventId: string,
    outcome: WebhookOutcome,
    orderId: string | null,
    detail: string,
  ): void {
    into.add(sql`update processed_webhook_events set outcome = ${outcome}, order_id = ${orderId}, detail = ${detail}
       where id = ${eventId} and ${into.when}`);
    into.add(sql`delete from processed_webhook_events where id = ${eventId} and not ${into.when}`);
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
