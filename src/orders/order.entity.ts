import { createHash, randomUUID, timingSafeEqual } from 'node:crypto';
import { Check, Collection, Embedded, Entity, Enum, OneToMany, PrimaryKey, Property } from '@mikro-orm/core';
import type { RecordsDomainEvents } from '../shared/domain-event';
import { Money, MoneyError } from '../shared/money';
import { randomBytesPooled } from '../shared/random-bytes';
import { OrderCanceledEvent } from './events/order-canceled.event';
import { OrderFlaggedForReviewEvent } from './events/order-flagged-for-review.event';
import { OrderPaidEvent } from './events/order-paid.event';
import { OrderPlacedEvent } from './events/order-placed.event';
import { OrderStatusChangedEvent } from './events/order-status-changed.event';
import { OrderHistoryEntry } from './order-history-entry.entity';
import { OrderItem } from './order-item.entity';
import { type DisputeState, OrderStatus, SETTLED, type TransitionSource } from './order-status';
import {
  MixedCurrenciesError,
  OrderNotCancelableError,
  OrderNotPayableError,
  OrderTooLargeError,
} from './order.errors';

/** A line as the customer asked for it, priced from the catalog. */
export interface OrderLine {
  productId: string;
  name: string;
  unitPrice: Money;
  quantity: number;
}

const PAYABLE: ReadonlySet<OrderStatus> = new Set([OrderStatus.Pending, OrderStatus.Failed]);

/**
 * The order aggregate and its state machine (ARCHITECTURE.md, "Order states"). Status changes only
 * through the methods below; each writes a history entry, and each change of what the customer sees
 * records an `OrderStatusChangedEvent`, published after commit. A new order records
 * `OrderPlacedEvent` only.
 */
@Entity({ tableName: 'orders' })
@Check({ name: 'orders_total_amount_check', expression: 'total_amount >= 0' })
export class Order implements RecordsDomainEvents {
  @PrimaryKey({ type: 'uuid' })
  readonly id: string;

  @Property({ type: 'string', length: 254 })
  readonly customerEmail: string;

  @Enum({ items: () => OrderStatus, fieldName: 'status' })
  private _status: OrderStatus;

  /** Why the order is in its status, in words a customer can read ("Your card was declined."). */
  @Property({ type: 'text', nullable: true, fieldName: 'status_reason' })
  private _statusReason: string | null;

  @Embedded(() => Money, { prefix: 'total_' })
  readonly total: Money;

  @OneToMany({ entity: () => OrderItem, mappedBy: 'order', orderBy: { position: 'asc' } })
  readonly items = new Collection<OrderItem>(this);

  @OneToMany({ entity: () => OrderHistoryEntry, mappedBy: 'order', orderBy: { id: 'asc' } })
  readonly history = new Collection<OrderHistoryEntry>(this);

  /** SHA-256 of the customer's access token; the token itself is never stored. */
  @Property({ type: 'string', length: 64, hidden: true })
  private readonly accessTokenHash: string;

  @Property({ type: 'boolean', fieldName: 'needs_review' })
  private _needsReview: boolean = false;

  @Property({ type: 'text', nullable: true, fieldName: 'review_reason' })
  private _reviewReason: string | null = null;

  /** What has been given back so far (refunds that succeeded), in the order's currency. */
  @Property({ type: 'integer', fieldName: 'refunded_amount', default: 0 })
  private _refundedAmount: number = 0;

  /** Where a dispute about the order's payment stands; null if there never was one. */
  @Property({ type: 'string', length: 8, nullable: true, fieldName: 'dispute_state' })
  private _disputeState: DisputeState | null = null;

  @Property({ type: 'datetime' })
  readonly createdAt: Date;

  @Property({ type: 'datetime', fieldName: 'updated_at' })
  private _updatedAt: Date;

  /** Loaded entities are built by the ORM without this constructor; hence the lazy field. */
  private domainEvents?: object[];

  private constructor(customerEmail: string, total: Money, accessTokenHash: string, now: Date) {
    this.id = randomUUID();
    this.customerEmail = customerEmail;
    this.total = total;
    this.accessTokenHash = accessTokenHash;
    this._status = OrderStatus.Pending;
    this._statusReason = null;
    this.createdAt = now;
    this._updatedAt = now;
  }

  /**
   * Places an order for priced lines, all in one currency. Returns the order and its access token:
   * an unguessable secret shown to the customer once, stored only as a hash.
   */
  static place(
    customerEmail: string,
    lines: readonly OrderLine[],
    source: TransitionSource,
    now = new Date(),
  ): { order: Order; accessToken: string } {
    if (lines.length === 0) throw new RangeError('An order needs at least one line');
    const currency = lines[0].unitPrice.currency;
    let total = Money.zero(currency);
    lines.forEach((line, index) => {
      if (line.unitPrice.currency !== currency) {
        throw new MixedCurrenciesError(currency, line.unitPrice.currency, `items[${index}].productId`);
      }
      try {
        total = total.add(line.unitPrice.times(line.quantity));
      } catch (error) {
        if (error instanceof MoneyError) throw new OrderTooLargeError();
        throw error;
      }
    });

    const accessToken = randomBytesPooled(32).toString('base64url');
    const order = new Order(customerEmail.trim().toLowerCase(), total, hashToken(accessToken), now);
    lines.forEach((line, index) =>
      order.items.add(new OrderItem(order, index, line.productId, line.name, line.unitPrice, line.quantity)),
    );
    order.history.add(new OrderHistoryEntry(order, null, OrderStatus.Pending, 'Order placed', source, now));
    // Announced once, as placed (its status is pending): no status changed yet.
    order.record(new OrderPlacedEvent(order.id, total.amount, total.currency, now));
    return { order, accessToken };
  }

  get status(): OrderStatus {
    return this._status;
  }

  get statusReason(): string | null {
    return this._statusReason;
  }

  get needsReview(): boolean {
    return this._needsReview;
  }

  get reviewReason(): string | null {
    return this._reviewReason;
  }

  get updatedAt(): Date {
    return this._updatedAt;
  }

  get refunded(): Money {
    return Money.of(this._refundedAmount, this.total.currency);
  }

  get disputeState(): DisputeState | null {
    return this._disputeState;
  }

  get isPayable(): boolean {
    return PAYABLE.has(this._status);
  }

  /** Constant-time check of a presented access token. */
  grantsAccess(token: string | undefined): boolean {
    if (!token) return false;
    const presented = Buffer.from(hashToken(token), 'hex');
    return timingSafeEqual(presented, Buffer.from(this.accessTokenHash, 'hex'));
  }

  assertPayable(): void {
    if (!this.isPayable) throw new OrderNotPayableError(this._status);
  }

  /** A checkout begins (or resumes): a failed order becomes payable again. */
  startCheckout(source: TransitionSource, now = new Date()): void {
    this.assertPayable();
    if (this._status === OrderStatus.Failed)
      this.moveTo(OrderStatus.Pending, null, 'Checkout restarted', source, now);
  }

  /** Checkout completed with a delayed method; the money is on its way. */
  markProcessing(reason: string, source: TransitionSource, now = new Date()): void {
    switch (this._status) {
      case OrderStatus.Pending:
      case OrderStatus.Failed:
        return this.moveTo(OrderStatus.Processing, reason, reason, source, now);
      case OrderStatus.Processing:
        return;
      case OrderStatus.Paid:
      case OrderStatus.PartiallyRefunded:
      case OrderStatus.Refunded:
        return this.note(`Ignored, already paid: ${reason}`, source, now);
      case OrderStatus.Canceled:
        return this.flagForReview(`A payment started after cancellation (${reason})`, source, now);
    }
  }

  /** Money confirmed. Wins over a failure; a canceled order keeps its status and goes to review. */
  markPaid(reason: string, source: TransitionSource, now = new Date()): void {
    switch (this._status) {
      case OrderStatus.Pending:
      case OrderStatus.Processing:
      case OrderStatus.Failed:
        return this.moveTo(OrderStatus.Paid, null, reason, source, now);
      case OrderStatus.Paid:
      case OrderStatus.PartiallyRefunded:
      case OrderStatus.Refunded:
        return;
      case OrderStatus.Canceled:
        return this.flagForReview(
          `Payment confirmed after cancellation: refund or reinstate (${reason})`,
          source,
          now,
        );
    }
  }

  /** An attempt failed. Never undoes a payment; a second failure replaces the reason shown. */
  markFailed(reason: string, source: TransitionSource, now = new Date()): void {
    switch (this._status) {
      case OrderStatus.Pending:
      case OrderStatus.Processing:
        return this.moveTo(OrderStatus.Failed, reason, reason, source, now);
      case OrderStatus.Failed:
        if (reason !== this._statusReason) this.moveTo(OrderStatus.Failed, reason, reason, source, now);
        return;
      case OrderStatus.Paid:
      case OrderStatus.PartiallyRefunded:
      case OrderStatus.Refunded:
      case OrderStatus.Canceled:
        return this.note(`Ignored, order ${this._status}: ${reason}`, source, now);
    }
  }

  /** The customer gives up before paying. Canceling twice is harmless. */
  cancel(source: TransitionSource, now = new Date()): void {
    switch (this._status) {
      case OrderStatus.Pending:
      case OrderStatus.Failed:
        this.moveTo(
          OrderStatus.Canceled,
          'Canceled by the customer',
          'Canceled by the customer',
          source,
          now,
        );
        this.record(new OrderCanceledEvent(this.id, now));
        return;
      case OrderStatus.Canceled:
        return;
      case OrderStatus.Processing:
        throw new OrderNotCancelableError(this._status, 'a payment is being settled');
      case OrderStatus.Paid:
      case OrderStatus.PartiallyRefunded:
      case OrderStatus.Refunded:
        throw new OrderNotCancelableError(this._status);
    }
  }

  /** A payment report that changes nothing (an expiry after payment): written down for staff. */
  noteIgnoredReport(description: string, source: TransitionSource, now = new Date()): void {
    this.note(`Ignored: ${description}`, source, now);
  }

  /** Marks the order for a person to look at (amount mismatch, money for a canceled order). */
  flagForReview(reason: string, source: TransitionSource, now = new Date()): void {
    this._needsReview = true;
    this._reviewReason = reason;
    this.note(`Flagged for review: ${reason}`, source, now);
    this.record(new OrderFlaggedForReviewEvent(this.id, reason, now));
  }

  /**
   * The refunds that succeeded so far, as payments counts them for the order: `paid` is all the money
   * taken (more than the total if it was paid twice), `refunded` all the money given back. What is
   * kept decides the status: nothing kept is `refunded`, less than the total `partially_refunded`,
   * else it stays `paid`. The customer reads "Refunded $12.50". An order canceled before its money
   * arrived keeps its status; the refund is written in its history.
   */
  applyRefunds(paid: Money, refunded: Money, source: TransitionSource, now = new Date()): void {
    if (refunded.currency !== this.total.currency || paid.currency !== this.total.currency) {
      throw new MoneyError(`a refund in ${refunded.currency} for an order in ${this.total.currency}`);
    }
    if (refunded.amount === this._refundedAmount) return;
    if (refunded.amount > paid.amount) {
      throw new RangeError(`${refunded.format()} refunded exceeds the ${paid.format()} paid`);
    }
    this._refundedAmount = refunded.amount;
    const reason = `Refunded ${refunded.format()}`;
    if (!SETTLED.has(this._status)) return this.note(reason, source, now);
    const kept = paid.amount - refunded.amount;
    if (kept >= this.total.amount) {
      // A second payment given back (paid twice): the order is still paid.
      if (this._status === OrderStatus.Paid) return this.note(reason, source, now);
      return this.moveTo(OrderStatus.Paid, null, reason, source, now);
    }
    const to = kept <= 0 ? OrderStatus.Refunded : OrderStatus.PartiallyRefunded;
    this.moveTo(to, reason, reason, source, now);
  }

  /**
   * A dispute (chargeback) about the order's payment opened, changed or closed. Written in the
   * history; a lost one stays on the order (`disputeState` "lost"), the money having gone back to the
   * cardholder's bank.
   */
  recordDispute(state: DisputeState, description: string, source: TransitionSource, now = new Date()): void {
    this._disputeState = state;
    this.note(description, source, now);
  }

  pullDomainEvents(): object[] {
    const events = this.domainEvents ?? [];
    this.domainEvents = [];
    return events;
  }

  private moveTo(
    to: OrderStatus,
    statusReason: string | null,
    historyReason: string,
    source: TransitionSource,
    now: Date,
  ): void {
    const from = this._status;
    this.history.add(new OrderHistoryEntry(this, from, to, historyReason, source, now));
    this._status = to;
    this._statusReason = statusReason;
    this._updatedAt = now;
    this.record(new OrderStatusChangedEvent(this.id, to, from, statusReason, now));
    if (to === OrderStatus.Paid)
      this.record(new OrderPaidEvent(this.id, this.total.amount, this.total.currency, now));
  }

  /**
   * A report that changes nothing is still written down, as an internal note: it may name sessions,
   * amounts of other attempts or review reasons, which are for staff, not for the customer.
   */
  private note(reason: string, source: TransitionSource, now: Date): void {
    this.history.add(new OrderHistoryEntry(this, this._status, this._status, reason, source, now, true));
    this._updatedAt = now;
  }

  private record(event: object): void {
    (this.domainEvents ??= []).push(event);
  }
}

function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}
