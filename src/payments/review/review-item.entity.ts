import { randomUUID } from 'node:crypto';
import { Entity, Enum, Index, PrimaryKey, Property } from '@mikro-orm/core';

/** Why money needs a person. */
export enum ReviewKind {
  AmountMismatch = 'amount_mismatch',
  PaidTwice = 'paid_twice',
  PaidAfterCancel = 'paid_after_cancel',
  MalformedEvent = 'malformed_event',
  ForeignSession = 'foreign_session',
  /** A refund Stripe refused or that failed after it was made. */
  RefundFailed = 'refund_failed',
  /** A refund Stripe never confirmed, whose key is too old to ask again: look at the Dashboard. */
  RefundUnconfirmed = 'refund_unconfirmed',
  /** A cardholder disputed a payment: evidence is due. */
  Dispute = 'dispute',
  /** A dispute was lost: the money went back to the cardholder's bank. */
  DisputeLost = 'dispute_lost',
}

/**
 * A money problem waiting for a person: written in the same transaction as the event that raised
 * it, so it cannot be lost; resolved by staff with a note (who, when, how).
 */
@Entity({ tableName: 'review_items' })
@Index({
  name: 'review_items_open_index',
  expression: `create index "review_items_open_index" on "review_items" ("created_at") where "resolved_at" is null`,
})
export class ReviewItem {
  @PrimaryKey({ type: 'uuid' })
  readonly id: string = randomUUID();

  /** Null for an event no order can be found for (a malformed one). */
  @Property({ type: 'uuid', nullable: true, index: true })
  readonly orderId: string | null;

  @Enum({ items: () => ReviewKind })
  readonly kind: ReviewKind;

  /** For staff: amounts, session ids, what Stripe said. */
  @Property({ type: 'text' })
  readonly reason: string;

  /** The Stripe event, session or attempt that raised it. */
  @Property({ type: 'string', length: 255, nullable: true })
  readonly sourceRef: string | null;

  @Property({ type: 'datetime' })
  readonly createdAt: Date;

  @Property({ type: 'datetime', nullable: true })
  resolvedAt: Date | null = null;

  @Property({ type: 'string', length: 254, nullable: true })
  resolvedBy: string | null = null;

  @Property({ type: 'text', nullable: true })
  resolution: string | null = null;

  constructor(kind: ReviewKind, orderId: string | null, reason: string, sourceRef: string | null, now: Date) {
    this.kind = kind;
    this.orderId = orderId;
    this.reason = reason;
    this.sourceRef = sourceRef;
    this.createdAt = now;
  }

  get isOpen(): boolean {
    return this.resolvedAt === null;
  }

  /** Closed by a person, with what they did. Resolving twice keeps the first resolution. */
  resolve(by: string, note: string, now = new Date()): void {
    if (!this.isOpen) return;
    if (!note.trim()) throw new RangeError('A resolution needs a note');
    this.resolvedAt = now;
    this.resolvedBy = by;
    this.resolution = note.trim();
  }
}
