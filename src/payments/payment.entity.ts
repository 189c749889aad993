import { randomUUID } from 'node:crypto';
import { Check, Embedded, Entity, Enum, Index, PrimaryKey, Property, Unique } from '@mikro-orm/core';
import { Money } from '../shared/money';
import type { CheckoutSession } from './payment-gateway.port';

export enum PaymentStatus {
  /** Attempt recorded; Stripe has not (yet) confirmed the session. A retry reuses its key. */
  Creating = 'creating',
  /** The session is open: the customer may pay (and retry after a decline). */
  Open = 'open',
  /** Checkout completed with a delayed method; settlement awaited. */
  Processing = 'processing',
  /** Money confirmed. Final. */
  Succeeded = 'succeeded',
  /** The delayed payment failed. Final. */
  Failed = 'failed',
  /** The session expired (or was expired) unpaid. Final. */
  Expired = 'expired',
}

const FINAL: ReadonlySet<PaymentStatus> = new Set([
  PaymentStatus.Succeeded,
  PaymentStatus.Failed,
  PaymentStatus.Expired,
]);

/** Stripe's shortest session lifetime, at creation. */
export const MIN_EXPIRY_MS = 30 * 60_000;
const REUSE_MARGIN_MS = 60_000;

/** What a piece of news did to this attempt. `stale` news is about a state the attempt has left. */
export type NewsEffect = 'applied' | 'stale';

/**
 * One checkout attempt: one Stripe Checkout Session for one order. The attempt number makes the
 * idempotency key (`checkout:<orderId>:<attempt>`), so a retried creation never opens a second
 * session. News is judged against the attempt it is about: once final, older news changes nothing.
 */
@Entity({ tableName: 'payments' })
@Unique({ properties: ['orderId', 'attempt'] })
@Check({ name: 'payments_amount_check', expression: 'amount >= 0' })
@Check({ name: 'payments_attempt_check', expression: 'attempt > 0' })
// What reconciliation scans: attempts still waiting for news, oldest first.
@Index({
  name: 'payments_awaiting_news_index',
  expression: `create index "payments_awaiting_news_index" on "payments" ("created_at") where "status" in ('open', 'processing')`,
})
export class Payment {
  @PrimaryKey({ type: 'uuid' })
  readonly id: string = randomUUID();

  @Property({ type: 'uuid' })
  readonly orderId: string;

  @Property({ type: 'smallint' })
  readonly attempt: number;

  @Enum({ items: () => PaymentStatus, fieldName: 'status' })
  private _status: PaymentStatus = PaymentStatus.Creating;

  /** What the order costs; every session and event for this attempt must say the same. */
  @Embedded(() => Money, { prefix: false })
  readonly amount: Money;

  @Property({ type: 'datetime' })
  readonly expiresAt: Date;

  // The fields below are public so that they can be queried; only the methods below change them.

  @Property({ type: 'string', length: 255, nullable: true, unique: true })
  sessionId: string | null = null;

  /** The hosted checkout page. */
  @Property({ type: 'text', nullable: true })
  url: string | null = null;

  @Property({ type: 'string', length: 255, nullable: true, index: true })
  paymentIntentId: string | null = null;

  /** The last failure the customer met on this attempt (decline code and message). */
  @Property({ type: 'string', length: 64, nullable: true })
  failureCode: string | null = null;

  @Property({ type: 'text', nullable: true })
  failureMessage: string | null = null;

  /** When reconciliation may next ask Stripe about this attempt (claimed rows move it forward). */
  @Property({ type: 'datetime', nullable: true })
  nextCheckAt: Date | null = null;

  @Property({ type: 'datetime' })
  readonly createdAt: Date = new Date();

  @Property({ type: 'datetime', fieldName: 'updated_at' })
  private _updatedAt: Date = new Date();

  constructor(orderId: string, attempt: number, amount: Money, expiresAt: Date) {
    this.orderId = orderId;
    this.attempt = attempt;
    this.amount = amount;
    this.expiresAt = expiresAt;
  }

  get status(): PaymentStatus {
    return this._status;
  }

  get isFinal(): boolean {
    return FINAL.has(this._status);
  }

  /**
   * Whether a checkout request can be answered with this attempt instead of a new one: its session
   * is open for a while yet, or its creation can still be retried as it was first sent (Stripe
   * refuses an `expires_at` less than 30 minutes ahead).
   */
  canServeCheckout(now: Date): boolean {
    const left = this.expiresAt.getTime() - now.getTime();
    if (this._status === PaymentStatus.Open) return left > REUSE_MARGIN_MS;
    if (this._status === PaymentStatus.Creating) return left >= MIN_EXPIRY_MS + REUSE_MARGIN_MS;
    return false;
  }

  /** A creation that never completed and can no longer be retried as it was: given up. */
  abandon(now = new Date()): void {
    if (this._status === PaymentStatus.Creating) this.moveTo(PaymentStatus.Expired, now);
  }

  /** Stripe confirmed the session this attempt asked for. */
  opened(session: CheckoutSession, now = new Date()): void {
    if (this.sessionId && this.sessionId !== session.id) {
      throw new Error(`Attempt ${this.id} already has session ${this.sessionId}, not ${session.id}`);
    }
    this.sessionId = session.id;
    this.url = session.url;
    if (this._status === PaymentStatus.Creating) this.moveTo(PaymentStatus.Open, now);
  }

  /** A session for this attempt reached us by news before its creation call returned. */
  adoptSession(sessionId: string, now = new Date()): void {
    if (this._status !== PaymentStatus.Creating || this.sessionId) {
      throw new Error(`Attempt ${this.id} cannot adopt session ${sessionId}`);
    }
    this.sessionId = sessionId;
    this.moveTo(PaymentStatus.Open, now);
  }

  /** Money confirmed. Applies from any state but success itself: money wins. */
  succeeded(paymentIntentId: string | null, now = new Date()): NewsEffect {
    if (this._status === PaymentStatus.Succeeded) return 'stale';
    this.notePaymentIntent(paymentIntentId);
    this.moveTo(PaymentStatus.Succeeded, now);
    return 'applied';
  }

  /** Checkout completed with a delayed method. */
  processing(paymentIntentId: string | null, now = new Date()): NewsEffect {
    if (!this.isStillOpen) return 'stale';
    this.notePaymentIntent(paymentIntentId);
    this.moveTo(PaymentStatus.Processing, now);
    return 'applied';
  }

  /** The delayed payment failed. */
  settlementFailed(reason: string, now = new Date()): NewsEffect {
    if (this._status !== PaymentStatus.Processing && !this.isStillOpen) return 'stale';
    this.failureCode = 'async_payment_failed';
    this.failureMessage = reason;
    this.moveTo(PaymentStatus.Failed, now);
    return 'applied';
  }

  /** The session expired unpaid. */
  expired(now = new Date()): NewsEffect {
    if (!this.isStillOpen) return 'stale';
    this.moveTo(PaymentStatus.Expired, now);
    return 'applied';
  }

  /** A card was declined inside checkout. The session stays open for another try. */
  declined(code: string | null, message: string, paymentIntentId: string, now = new Date()): NewsEffect {
    if (!this.isStillOpen) return 'stale';
    this.notePaymentIntent(paymentIntentId);
    this.failureCode = code;
    this.failureMessage = message;
    this._updatedAt = now;
    return 'applied';
  }

  private get isStillOpen(): boolean {
    return this._status === PaymentStatus.Open || this._status === PaymentStatus.Creating;
  }

  private notePaymentIntent(paymentIntentId: string | null): void {
    if (paymentIntentId) this.paymentIntentId = paymentIntentId;
  }

  private moveTo(status: PaymentStatus, now: Date): void {
    this._status = status;
    this._updatedAt = now;
  }
}
