import { Entity, Enum, Index, PrimaryKey, Property } from '@mikro-orm/core';

export enum WebhookOutcome {
  /** It changed an attempt and told the order. */
  Applied = 'applied',
  /** Authentic but changes nothing: an event type we do not act on, or a report the attempt has moved past. */
  Ignored = 'ignored',
  /** About no order or session of ours (e.g. a `stripe trigger` fixture). */
  Unmatched = 'unmatched',
  /** Amount, currency or order does not match what we asked for: flagged for review, never paid. */
  Mismatch = 'mismatch',
  /** Authentic but unreadable (no data.object, an id too long, not an object): kept raw for staff. */
  Malformed = 'malformed',
}

/**
 * The processed-event ledger: one row per Stripe event id, written in the same transaction as the
 * event's effect. Its primary key is what makes the effect happen once however often Stripe
 * delivers; later deliveries of the same event only count themselves in `deliveries`.
 */
@Entity({ tableName: 'processed_webhook_events' })
@Index({ properties: ['orderId'] })
export class ProcessedWebhookEvent {
  @PrimaryKey({ type: 'string', length: 255 })
  readonly id!: string;

  @Property({ type: 'string', length: 128 })
  readonly type!: string;

  @Enum({ items: () => WebhookOutcome, nullable: true })
  readonly outcome!: WebhookOutcome | null;

  @Property({ type: 'uuid', nullable: true })
  readonly orderId!: string | null;

  @Property({ type: 'text', nullable: true })
  readonly detail!: string | null;

  /** The raw body, kept only for a `malformed` event, so that it can be replayed once understood. */
  @Property({ type: 'text', nullable: true, lazy: true })
  readonly payload!: string | null;

  /** How many times Stripe delivered it; more than one means duplicates, answered without effect. */
  @Property({ type: 'integer' })
  readonly deliveries!: number;

  @Property({ type: 'datetime' })
  readonly receivedAt!: Date;

  @Property({ type: 'datetime' })
  readonly lastDeliveryAt!: Date;
}
