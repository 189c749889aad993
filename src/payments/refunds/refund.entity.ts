import { randomUUID } from 'node:crypto';
import { Check, Embedded, Entity, Enum, Index, PrimaryKey, Property, Unique } from '@mikro-orm/core';
import { Money } from '../../shared/money';
import type { RefundInfo } from '../payment-gateway.port';

export enum RefundState {
  /** Recorded; Stripe has not answered yet (or did not: a retry with the same key finds it). */
  Creating = 'creating',
  Pending = 'pending',
  RequiresAction = 'requires_action',
  Succeeded = 'succeeded',
  Failed = 'failed',
  Canceled = 'canceled',
}

/**
 * How far along each state is. News only moves a refund forward: a `pending` that arrives after
 * `succeeded` is stale. `succeeded` can still become `failed` (Stripe says so: a card that was closed
 * meanwhile), never the other way.
 */
const RANK: Record<RefundState, number> = {
  creating: 0,
  pending: 1,
  requires_action: 1,
  succeeded: 2,
  failed: 3,
  canceled: 3,
};

/**
 * A refund whose request Stripe did not answer is asked again under its own key: first a few
 * minutes after it was recorded (the staff member's own retry usually comes first), then with
 * backoff. Stripe keeps idempotency keys 24 hours; past {@link REFUND_KEY_LIFETIME_MS} asking again
 * could make a second refund, so the refund is left to a person instead.
 */
const REFUND_CHECK_BACKOFF_MS = [2 * 60_000, 5 * 60_000, 15 * 60_000, 60 * 60_000];
const REFUND_CHECK_EVERY_MS = 3 * 60 * 60_000;
export const REFUND_KEY_LIFETIME_MS = 23 * 60 * 60_000;

/** States whose money is given back or on its way: they count against what can still be refunded. */
export const COMMITTED_REFUND_STATES = [
  RefundState.Creating,
  RefundState.Pending,
  RefundState.RequiresAction,
  RefundState.Succeeded,
];

/**
 * Money given back for an order: one Stripe refund of one payment. Created by staff (or learned from
 * Stripe, for a refund made in its Dashboard) and settled by Stripe's events. The sequence number
 * makes the idempotency key (`refund:<orderId>:<sequence>`).
 */
@Entity({ tableName: 'refunds' })
@Unique({ properties: ['orderId', 'sequence'] })
@Unique({ properties: ['orderId', 'requestKey'] })
@Check({ name: 'refunds_amount_check', expression: 'amount > 0' })
export class Refund {
  @PrimaryKey({ type: 'uuid' })
  readonly id: string = randomUUID();

  @Property({ type: 'uuid' })
  @Index()
  readonly orderId: string;

  /** The checkout attempt whose payment is given back. */
  @Property({ type: 'uuid' })
  readonly paymentId: string;

  @Property({ type: 'smallint' })
  readonly sequence: number;

  @Embedded(() => Money, { prefix: false })
  readonly amount: Money;

  /** The staff member's words; for staff only. */
  @Property({ type: 'text' })
  readonly reason: string;

  @Enum({ items: () => RefundState, fieldName: 'status' })
  private _status: RefundState = RefundState.Creating;

  @Property({ type: 'string', length: 255, nullable: true, unique: true })
  stripeRefundId: string | null = null;

  @Property({ type: 'text', nullable: true })
  failureReason: string | null = null;

  /** Who asked; null for a refund made at Stripe directly. */
  @Property({ type: 'uuid', nullable: true })
  readonly requestedById: string | null;

  @Property({ type: 'string', length: 254, nullable: true })
  readonly requestedByEmail: string | null;

  /** The client's `Idempotency-Key`: the same key for the same order is the same refund. */
  @Property({ type: 'string', length: 255, nullable: true })
  readonly requestKey: string | null;

  @Property({ type: 'datetime' })
  readonly createdAt: Date = new Date();

  /** When reconciliation asks Stripe again about a refund it never confirmed; null: not again. */
  @Property({ type: 'datetime', nullable: true })
  nextCheckAt: Date | null = new Date(this.createdAt.getTime() + REFUND_CHECK_BACKOFF_MS[0]);

  /** How many times reconciliation has asked. */
  @Property({ type: 'smallint' })
  checks = 0;

  @Property({ type: 'datetime' })
  updatedAt: Date = new Date();

  constructor(fields: {
    orderId: string;
    paymentId: string;
    sequence: number;
    amount: Money;
    reason: string;
    requestedBy: { id: string; email: string } | null;
    requestKey: string | null;
  }) {
    this.orderId = fields.orderId;
    this.paymentId = fields.paymentId;
    this.sequence = fields.sequence;
    this.amount = fields.amount;
    this.reason = fields.reason;
    this.requestedById = fields.requestedBy?.id ?? null;
    this.requestedByEmail = fields.requestedBy?.email ?? null;
    this.requestKey = fields.requestKey;
  }

  get status(): RefundState {
    return this._status;
  }

  get idempotencyKey(): string {
    return `refund:${this.orderId}:${this.sequence}`;
  }

  /** What Stripe reports, applied if it moves the refund forward. */
  learn(info: RefundInfo, now = new Date()): 'applied' | 'stale' {
    if (this.stripeRefundId !== null && this.stripeRefundId !== info.id) {
      throw new Error(`Refund ${this.id} is ${this.stripeRefundId} at Stripe, not ${info.id}`);
    }
    this.stripeRefundId = info.id;
    const next = info.status as RefundState;
    if (RANK[next] <= RANK[this._status]) return 'stale';
    this._status = next;
    this.nextCheckAt = null;
    if (next === RefundState.Failed || next === RefundState.Canceled) {
      this.failureReason = info.failureReason ?? next;
    }
    this.updatedAt = now;
    return 'applied';
  }

  /** Stripe refused the request: nothing will be given back under this refund. */
  declined(message: string, now = new Date()): void {
    this._status = RefundState.Failed;
    this.failureReason = message;
    this.nextCheckAt = null;
    this.updatedAt = now;
  }

  /** Whether asking Stripe again under this refund's key is still safe (the key is still kept). */
  canAskAgain(now = new Date()): boolean {
    return (
      this._status === RefundState.Creating &&
      now.getTime() - this.createdAt.getTime() < REFUND_KEY_LIFETIME_MS
    );
  }

  /**
   * Reconciliation asked (or could not ask): when to ask next. Returns `unconfirmed` when the
   * refund is still unconfirmed and may no longer be asked about: a person must look at Stripe.
   */
  scheduleNextCheck(now = new Date()): 'scheduled' | 'settled' | 'unconfirmed' {
    if (this._status !== RefundState.Creating) {
      this.nextCheckAt = null;
      return 'settled';
    }
    const delay = REFUND_CHECK_BACKOFF_MS[this.checks + 1] ?? REFUND_CHECK_EVERY_MS;
    this.checks++;
    // The last check comes a minute before the key is given up.
    const lastCheck = this.createdAt.getTime() + REFUND_KEY_LIFETIME_MS - 60_000;
    if (now.getTime() >= lastCheck) {
      this.nextCheckAt = null;
      return 'unconfirmed';
    }
    this.nextCheckAt = new Date(Math.min(now.getTime() + delay, lastCheck));
    return 'scheduled';
  }
}
