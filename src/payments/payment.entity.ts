import { randomUUID } from 'node:crypto';
import { Check, Embedded, Entity, Enum, Index, PrimaryKey, Property, Unique } from '@mikro-orm/core';
import type { RecordsDomainEvents } from '../shared/domain-event';
import { Money } from '../shared/money';
import { CheckoutCloseRequestedEvent } from './events/checkout-close-requested.event';
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
  /** The session expired (or was expired) unpaid, or its creation was given up. Final. */
  Expired = 'expired',
  /** Stripe answered the creation with an error (kept under the key): no session. Final. */
  Refused = 'refused',
  /** What Stripe reported does not match what we asked for: a person decides. Final. */
  NeedsReview = 'needs_review',
}

const FINAL: ReadonlySet<PaymentStatus> = new Set([
  PaymentStatus.Succeeded,
  PaymentStatus.Failed,
  PaymentStatus.Expired,
  PaymentStatus.Refused,
  PaymentStatus.NeedsReview,
]);

/**
 * When reconciliation asks Stripe again about an attempt Stripe has told us nothing of: after the first check
 * (RECONCILE_AFTER_SECONDS from creation), 15 min, 1 h, 6 h, then daily, until the session's expiry
 * plus a day (a bank payment being settled: plus a week).
 */
const CHECK_BACKOFF_MS = [15 * 60_000, 60 * 60_000, 6 * 60 * 60_000];
const DAY_MS = 24 * 60 * 60_000;
const SETTLEMENT_HORIZON_MS = 7 * DAY_MS;

/** Stripe's shortest session lifetime, at creation. */
export const MIN_EXPIRY_MS = 30 * 60_000;
const REUSE_MARGIN_MS = 60_000;

/** What a report from Stripe did to this attempt. `outdated`: about a state the attempt has left. */
export type ReportEffect = 'applied' | 'outdated';

/**
 * One checkout attempt: one Stripe Checkout Session for one order. The attempt number makes the
 * idempotency key (`checkout:<orderId>:<attempt>`), so a retried creation never opens a second
 * session. Stripe's reports are judged against the attempt they are about (matched by the ids we
 * tagged the session with): once final, older reports change nothing.
 */
@Entity({ tableName: 'payments' })
@Unique({ properties: ['orderId', 'attempt'] })
@Check({ name: 'payments_amount_check', expression: 'amount >= 0' })
@Check({ name: 'payments_attempt_check', expression: 'attempt > 0' })
// What reconciliation scans: attempts still waiting for Stripe's word, by when they are due.
@Index({
  name: 'payments_due_check_index',
  expression: `create index "payments_due_check_index" on "payments" ("next_check_at") where "status" in ('creating', 'open', 'processing')`,
})
export class Payment implements RecordsDomainEvents {
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

  /** When reconciliation next asks Stripe about this attempt; null: no more checks. */
  @Property({ type: 'datetime', nullable: true })
  nextCheckAt: Date | null;

  /** How many times reconciliation asked (the backoff step). */
  @Property({ type: 'smallint' })
  checks = 0;

  /**
   * Since when this attempt's session must no longer take money (superseded, the order canceled or
   * paid by another attempt): expired at Stripe after commit, and by reconciliation until it is.
   */
  @Property({ type: 'datetime', nullable: true })
  closeRequestedAt: Date | null = null;

  @Property({ type: 'datetime' })
  readonly createdAt: Date = new Date();

  @Property({ type: 'datetime', fieldName: 'updated_at' })
  private _updatedAt: Date = new Date();

  /** Loaded entities are built by the ORM without this constructor; hence the lazy field. */
  private domainEvents?: object[];

  constructor(orderId: string, attempt: number, amount: Money, expiresAt: Date, firstCheckAt: Date) {
    this.orderId = orderId;
    this.attempt = attempt;
    this.amount = amount;
    this.expiresAt = expiresAt;
    this.nextCheckAt = firstCheckAt;
  }

  /** The Stripe idempotency key of this attempt's session creation. */
  get idempotencyKey(): string {
    return `checkout:${this.orderId}:${this.attempt}`;
  }

  get status(): PaymentStatus {
    return this._status;
  }

  get updatedAt(): Date {
    return this._updatedAt;
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

  /** Stripe answered the creation with an error: this attempt (and its key) is over. */
  refused(reason: string, now = new Date()): void {
    if (this._status !== PaymentStatus.Creating) return;
    this.failureCode = 'creation_refused';
    this.failureMessage = reason;
    this.moveTo(PaymentStatus.Refused, now);
  }

  /** What Stripe reported does not match what we asked for: no more checks, a person decides. */
  needsReview(reason: string, now = new Date()): void {
    if (this._status === PaymentStatus.Succeeded) return;
    this.failureCode = 'needs_review';
    this.failureMessage = reason;
    this.moveTo(PaymentStatus.NeedsReview, now);
  }

  /**
   * This attempt's session must stop taking money (a newer attempt, a cancellation, a payment
   * through another attempt). Its expiry at Stripe follows the commit (`CheckoutCloseRequestedEvent`)
   * and is repeated by reconciliation until Stripe confirms it.
   */
  requestClose(now = new Date()): void {
    if (this.isFinal || this.closeRequestedAt) return;
    this.closeRequestedAt = now;
    this.nextCheckAt = now;
    this.record(new CheckoutCloseRequestedEvent(this.orderId, this.id, now));
  }

  /** Reconciliation asked Stripe: when to ask next (null: not again). */
  scheduleNextCheck(now = new Date()): void {
    const delay = CHECK_BACKOFF_MS[this.checks] ?? DAY_MS;
    this.checks++;
    const horizon =
      this.expiresAt.getTime() + (this._status === PaymentStatus.Processing ? SETTLEMENT_HORIZON_MS : DAY_MS);
    const next = now.getTime() + delay;
    this.nextCheckAt = this.isFinal || next > horizon ? null : new Date(next);
  }

  pullDomainEvents(): object[] {
    const events = this.domainEvents ?? [];
    this.domainEvents = [];
    return events;
  }

  /** Stripe confirmed the session this attempt asked for. */
  opened(session: CheckoutSession, now = new Date()): void {
    this.linkSession(session.id, now);
    this.url = session.url;
  }

  /**
   * The session Stripe made for this attempt (tagged with its id), learned from the creation's
   * answer or, when a report arrives first, from the report.
   */
  linkSession(sessionId: string, now = new Date()): void {
    if (this.sessionId && this.sessionId !== sessionId) {
      throw new Error(`Attempt ${this.id} already has session ${this.sessionId}, not ${sessionId}`);
    }
    this.sessionId = sessionId;
    if (this._status === PaymentStatus.Creating) this.moveTo(PaymentStatus.Open, now);
  }

  /** Money confirmed. Applies from any state but success itself: money wins. */
  succeeded(paymentIntentId: string | null, now = new Date()): ReportEffect {
    if (this._status === PaymentStatus.Succeeded) return 'outdated';
    this.notePaymentIntent(paymentIntentId);
    this.moveTo(PaymentStatus.Succeeded, now);
    return 'applied';
  }

  /** Checkout completed with a delayed method. */
  processing(paymentIntentId: string | null, now = new Date()): ReportEffect {
    if (!this.isStillOpen) return 'outdated';
    this.notePaymentIntent(paymentIntentId);
    this.moveTo(PaymentStatus.Processing, now);
    return 'applied';
  }

  /** The delayed payment failed. */
  settlementFailed(reason: string, now = new Date()): ReportEffect {
    if (this._status !== PaymentStatus.Processing && !this.isStillOpen) return 'outdated';
    this.failureCode = 'async_payment_failed';
    this.failureMessage = reason;
    this.moveTo(PaymentStatus.Failed, now);
    return 'applied';
  }

  /** The session expired unpaid. */
  expired(now = new Date()): ReportEffect {
    if (!this.isStillOpen) return 'outdated';
    this.moveTo(PaymentStatus.Expired, now);
    return 'applied';
  }

  /** A card was declined inside checkout. The session stays open for another try. */
  declined(code: string | null, message: string, paymentIntentId: string, now = new Date()): ReportEffect {
    if (!this.isStillOpen) return 'outdated';
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

  private record(event: object): void {
    (this.domainEvents ??= []).push(event);
  }
}
