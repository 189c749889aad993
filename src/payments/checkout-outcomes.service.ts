import { LockMode } from '@mikro-orm/core';
import { EntityManager } from '@mikro-orm/postgresql';
import { Injectable } from '@nestjs/common';
import { EventEmitter2 } from '@nestjs/event-emitter';
import { isUUID } from 'class-validator';
import type { ChangeSource } from '../shared/change-source';
import { emitWithinTransaction } from '../shared/domain-event';
import { PaymentFailedEvent } from './events/payment-failed.event';
import { PaymentNeedsReviewEvent } from './events/payment-needs-review.event';
import { PaymentProcessingEvent } from './events/payment-processing.event';
import { PaymentReportNotedEvent } from './events/payment-report-noted.event';
import { PaymentSucceededEvent } from './events/payment-succeeded.event';
import { type LockedOrder, OrderAccess, type PaymentOutcomeEvent } from './order-access.port';
import { Payment, PaymentStatus, type ReportEffect } from './payment.entity';
import type { CheckoutSession, PaymentEvent } from './payment-gateway.port';
import { ReviewKind } from './review/review-item.entity';
import { ReviewQueue } from './review/review-queue';
import { WebhookOutcome } from './stripe/processed-webhook-event.entity';

/** What Stripe can tell us about a Checkout Session. */
export type SessionReport = 'completed' | 'async_succeeded' | 'async_failed' | 'expired';

const DESCRIPTION: Record<SessionReport, string> = {
  completed: 'Checkout completed',
  async_succeeded: 'Bank payment settled',
  async_failed: 'Bank payment failed',
  expired: 'Checkout expired',
};

/** Reasons the customer reads when an attempt fails. */
export const REASON = {
  settlementFailed: 'Your bank payment failed.',
  expired: 'Checkout expired',
} as const;

export interface Outcome {
  outcome: WebhookOutcome;
  orderId: string | null;
  detail: string;
}

type DeclineEvent = Extract<PaymentEvent, { type: 'payment.declined' }>;

/** The events about a Checkout Session. */
export type SessionReportEvent = Extract<
  PaymentEvent,
  { type: 'checkout.completed' | 'checkout.async_succeeded' | 'checkout.async_failed' | 'checkout.expired' }
>;

const REPORT_OF_EVENT: Record<SessionReportEvent['type'], SessionReport> = {
  'checkout.completed': 'completed',
  'checkout.async_succeeded': 'async_succeeded',
  'checkout.async_failed': 'async_failed',
  'checkout.expired': 'expired',
};

export function isSessionReport(event: PaymentEvent): event is SessionReportEvent {
  return event.type in REPORT_OF_EVENT;
}

/** What a session event reports. */
export function reportOfEvent(event: SessionReportEvent): SessionReport {
  return REPORT_OF_EVENT[event.type];
}

/**
 * What a report is decided on, and where its consequences go: the attempt it is about and every
 * attempt of its order (newest first), both locked, and the order's state, locked (null if the
 * attempt has no order). Entities change in place; the scope persists them with its unit of work
 * (MikroORM's, or the webhook's explicit statements), together with what it is told here.
 */
export interface ReportScope {
  readonly payment: Payment;
  readonly attempts: readonly Payment[];
  readonly order: LockedOrder | null;
  /** Tells the orders module what happened, inside the same transaction. */
  tellOrders(event: PaymentOutcomeEvent): Promise<void> | void;
  /** Opens a review item inside the same transaction. */
  openReview(kind: ReviewKind, orderId: string, reason: string, sourceRef: string | null): void;
}

/**
 * The rules for what each kind of report from Stripe does to a checkout attempt and, through events
 * that join the same transaction, to its order: exactly once (the caller holds the ledger row or the
 * attempt's lock), in any order, however often. Reports are matched to their attempt by the ids we
 * tagged the session and its payment with, never by timing.
 */
@Injectable()
export class CheckoutOutcomes {
  constructor(
    private readonly em: EntityManager,
    private readonly orders: OrderAccess,
    private readonly reviews: ReviewQueue,
    private readonly events: EventEmitter2,
  ) {}

  /** Applies a verified event. Must run inside the caller's transaction (with its ledger row). */
  apply(event: PaymentEvent, source: ChangeSource): Promise<Outcome> {
    switch (event.type) {
      case 'checkout.completed':
      case 'checkout.async_succeeded':
      case 'checkout.async_failed':
      case 'checkout.expired':
        return this.applySessionReport(REPORT_OF_EVENT[event.type], event.session, source);
      case 'payment.declined':
        return this.applyDecline(event, source);
      case 'unsupported':
        return Promise.resolve(notActedOn(event));
      case 'malformed':
        throw new Error('A malformed event is kept by the webhook intake, never applied');
      case 'refund.updated':
      case 'charge.refunded':
      case 'dispute.updated':
        throw new Error('Refunds and disputes are applied by RefundsService');
    }
  }

  /**
   * A session as Stripe reports it right now (the success page's check, reconciliation), applied as
   * its webhook would be, in a transaction of its own. An open session reports nothing: null.
   */
  async applySession(session: CheckoutSession, source: ChangeSource): Promise<Outcome | null> {
    const report = reportOf(session);
    if (!report) return null;
    return this.em.transactional(() => this.applySessionReport(report.kind, session, source, report.reason));
  }

  /** Through MikroORM's unit of work: the attempt found, its order and all its attempts locked. */
  private async applySessionReport(
    kind: SessionReport,
    session: CheckoutSession,
    source: ChangeSource,
    reason?: string,
  ): Promise<Outcome> {
    const known = await this.attemptOf(session);
    if (!known) return unknownSession(session);
    // The order, then all of its attempts, locked in that order (as checkout does): two statements.
    const order = await this.orders.lockState(known.orderId);
    const { payment, attempts } = await this.lockAttempts(known);
    return this.decideSessionReport(
      kind,
      session,
      this.unitOfWorkScope(payment, attempts, order),
      source,
      reason,
    );
  }

  /**
   * The rules for a report about a session (the event `kind`, or what a retrieval says), applied
   * to the attempt and order of `scope`, which its caller found by `attemptOfSession` and locked.
   */
  async decideSessionReport(
    kind: SessionReport,
    session: CheckoutSession,
    scope: ReportScope,
    source: ChangeSource,
    reason?: string,
  ): Promise<Outcome> {
    const { payment, order } = scope;
    if (!order) return outcome(WebhookOutcome.Unmatched, null, `attempt ${payment.id} has no order`);
    if ((session.orderId && session.orderId !== payment.orderId) || !this.claimsSession(payment, session)) {
      // Someone else's session pointing at this attempt: a person looks; the attempt itself goes on.
      const detail = `Session ${session.id} (order ${session.orderId ?? '?'}) does not belong to attempt ${payment.attempt} of order ${payment.orderId}`;
      await this.openReview(scope, ReviewKind.ForeignSession, detail, source);
      return outcome(WebhookOutcome.Mismatch, payment.orderId, detail);
    }
    if (!payment.sessionId) payment.linkSession(session.id);
    if ((kind === 'completed' || kind === 'async_succeeded') && !session.amount?.equals(payment.amount)) {
      const reported = session.amount?.format() ?? 'no amount';
      const detail = `Stripe reported ${reported} for session ${session.id}; the order costs ${payment.amount.format()}`;
      return this.needsReview(scope, ReviewKind.AmountMismatch, detail, source);
    }

    const now = new Date();
    const effect = this.record(kind, payment, session, reason ?? REASON.settlementFailed, now);
    if (effect === 'outdated') {
      // The same success learned twice (webhook after the success page's check) changes nothing.
      if (payment.status === PaymentStatus.Succeeded && kind !== 'async_failed' && kind !== 'expired') {
        return outcome(
          WebhookOutcome.Ignored,
          payment.orderId,
          `attempt ${payment.attempt} already succeeded`,
        );
      }
      return this.noteOutdated(scope, DESCRIPTION[kind], source, now);
    }
    switch (payment.status) {
      case PaymentStatus.Succeeded:
        return this.paymentSucceeded(scope, order, source, now);
      case PaymentStatus.Processing:
        if (order.status === 'canceled') {
          await this.openReview(
            scope,
            ReviewKind.PaidAfterCancel,
            `A bank payment started after cancellation (session ${session.id})`,
            source,
          );
        }
        await scope.tellOrders(new PaymentProcessingEvent(payment.orderId, payment.id, source, now));
        return outcome(WebhookOutcome.Applied, payment.orderId, `attempt ${payment.attempt} processing`);
      default:
        if (kind === 'expired' && payment.closeRequestedAt) {
          // A session we closed ourselves (superseded, canceled, paid elsewhere): no failure to show.
          return this.noteOutdated(scope, DESCRIPTION.expired, source, now, 'a newer state of the order');
        }
        return this.paymentFailed(
          scope,
          kind === 'expired' ? REASON.expired : payment.failureMessage!,
          source,
          now,
        );
    }
  }

  private record(
    kind: SessionReport,
    payment: Payment,
    session: CheckoutSession,
    failure: string,
    now: Date,
  ): ReportEffect {
    switch (kind) {
      case 'completed':
        return session.paymentStatus === 'unpaid'
          ? payment.processing(session.paymentIntentId, now)
          : payment.succeeded(session.paymentIntentId, now);
      case 'async_succeeded':
        return payment.succeeded(session.paymentIntentId, now);
      case 'async_failed':
        return payment.settlementFailed(failure, now);
      case 'expired':
        return payment.expired(now);
    }
  }

  /** A card declined inside checkout. The session stays open; the order shows the decline. */
  private async applyDecline(event: DeclineEvent, source: ChangeSource): Promise<Outcome> {
    const known = await this.attemptOfDecline(event);
    if (!known) {
      return outcome(
        WebhookOutcome.Unmatched,
        null,
        `no checkout attempt of ours for ${event.paymentIntentId}`,
      );
    }
    const order = await this.orders.lockState(known.orderId);
    const { payment, attempts } = await this.lockAttempts(known);
    const scope = this.unitOfWorkScope(payment, attempts, order);
    const description = `Payment declined: ${event.message}`;
    const now = new Date();
    if (payment.declined(event.code, event.message, event.paymentIntentId, now) === 'outdated') {
      return this.noteOutdated(scope, description, source, now);
    }
    return this.paymentFailed(scope, event.message, source, now);
  }

  private async paymentSucceeded(
    scope: ReportScope,
    order: LockedOrder,
    source: ChangeSource,
    now: Date,
  ): Promise<Outcome> {
    const { payment, attempts } = scope;
    const { amount, currency } = payment.amount;
    const others = attempts.filter((other) => other !== payment);
    const earlier = others.find((other) => other.status === PaymentStatus.Succeeded);
    if (earlier) {
      await this.openReview(
        scope,
        ReviewKind.PaidTwice,
        `Paid twice (attempts ${earlier.attempt} and ${payment.attempt}): refund one`,
        source,
      );
    } else if (order.status === 'canceled') {
      await this.openReview(
        scope,
        ReviewKind.PaidAfterCancel,
        `Paid after cancellation (attempt ${payment.attempt}): refund or reinstate`,
        source,
      );
    }
    // Only one session may take money: every other one still open is closed.
    for (const other of others) other.requestClose(now);
    await scope.tellOrders(
      new PaymentSucceededEvent(payment.orderId, payment.id, amount, currency, source, now),
    );
    return outcome(WebhookOutcome.Applied, payment.orderId, `attempt ${payment.attempt} succeeded`);
  }

  /** A failure moves the order only if it is about the order's newest attempt. */
  private async paymentFailed(
    scope: ReportScope,
    reason: string,
    source: ChangeSource,
    now: Date,
  ): Promise<Outcome> {
    const { payment, attempts } = scope;
    const newest = attempts[0];
    if (newest.id !== payment.id)
      return this.noteOutdated(scope, reason, source, now, 'a newer checkout attempt');
    await scope.tellOrders(new PaymentFailedEvent(payment.orderId, payment.id, reason, source, now));
    return outcome(WebhookOutcome.Applied, payment.orderId, `attempt ${payment.attempt}: ${reason}`);
  }

  /** A report the attempt has moved past: written in the order's history (for staff), nothing more. */
  private async noteOutdated(
    scope: ReportScope,
    description: string,
    source: ChangeSource,
    now: Date,
    supersededBy?: string,
  ): Promise<Outcome> {
    const { payment } = scope;
    const detail = supersededBy
      ? `${description} (superseded by ${supersededBy})`
      : `${description} (checkout attempt ${payment.attempt} already ${payment.status})`;
    await scope.tellOrders(new PaymentReportNotedEvent(payment.orderId, detail, source, now));
    return outcome(WebhookOutcome.Ignored, payment.orderId, detail);
  }

  /** The attempt stops here (terminal: reconciliation leaves it alone) and a person is asked. */
  private async needsReview(
    scope: ReportScope,
    kind: ReviewKind,
    reason: string,
    source: ChangeSource,
  ): Promise<Outcome> {
    scope.payment.needsReview(reason);
    await this.openReview(scope, kind, reason, source);
    return outcome(WebhookOutcome.Mismatch, scope.payment.orderId, reason);
  }

  private async openReview(
    scope: ReportScope,
    kind: ReviewKind,
    reason: string,
    source: ChangeSource,
  ): Promise<void> {
    const { payment } = scope;
    scope.openReview(kind, payment.orderId, reason, source.ref ?? payment.sessionId);
    await scope.tellOrders(new PaymentNeedsReviewEvent(payment.orderId, reason, source, new Date()));
  }

  /** MikroORM's unit of work: the orders module's listeners join the transaction; the flush writes. */
  private unitOfWorkScope(payment: Payment, attempts: Payment[], order: LockedOrder | null): ReportScope {
    return {
      payment,
      attempts,
      order,
      tellOrders: (event) => emitWithinTransaction(this.events, event),
      openReview: (kind, orderId, reason, sourceRef) => {
        this.reviews.open(kind, orderId, reason, sourceRef);
      },
    };
  }

  /** The attempt a session report is about: by the session's id, else by the attempt id we tagged it with. */
  private async attemptOf(session: CheckoutSession): Promise<Payment | null> {
    const bySession = await this.em.findOne(Payment, { sessionId: session.id });
    if (bySession) return bySession;
    return session.attemptId && isUUID(session.attemptId)
      ? this.em.findOne(Payment, { id: session.attemptId })
      : null;
  }

  /**
   * The attempt a decline is about: by its PaymentIntent once known, else by the attempt id on the
   * PaymentIntent's metadata. (Sessions opened before attempts were tagged: the order's only open
   * attempt, if it has exactly one.)
   */
  private async attemptOfDecline(event: DeclineEvent): Promise<Payment | null> {
    const byIntent = await this.em.findOne(Payment, { paymentIntentId: event.paymentIntentId });
    if (byIntent) return byIntent;
    if (event.attemptId)
      return isUUID(event.attemptId) ? this.em.findOne(Payment, { id: event.attemptId }) : null;
    if (!event.orderId || !isUUID(event.orderId)) return null;
    const open = await this.em.find(Payment, {
      orderId: event.orderId,
      sessionId: { $ne: null },
      paymentIntentId: null,
    });
    const live = open.filter((payment) => payment.status === PaymentStatus.Open);
    return live.length === 1 ? live[0] : null;
  }

  /** Whether the session may be this attempt's: its own, or tagged with its id while it has none yet. */
  private claimsSession(payment: Payment, session: CheckoutSession): boolean {
    if (payment.sessionId) return payment.sessionId === session.id;
    return session.attemptId === payment.id;
  }

  /**
   * Locks every attempt of `known`'s order (after the order's own lock) and reads them afresh, newest
   * first: the attempt itself, and the others a success closes and a failure is weighed against.
   */
  private async lockAttempts(known: Payment): Promise<{ payment: Payment; attempts: Payment[] }> {
    const attempts = await this.em.find(
      Payment,
      { orderId: known.orderId },
      { orderBy: { attempt: 'desc' }, lockMode: LockMode.PESSIMISTIC_WRITE, refresh: true },
    );
    const payment = attempts.find((attempt) => attempt.id === known.id);
    if (!payment) throw new Error(`Checkout attempt ${known.id} vanished from order ${known.orderId}`);
    return { payment, attempts };
  }
}

function outcome(result: WebhookOutcome, orderId: string | null, detail: string): Outcome {
  return { outcome: result, orderId, detail };
}

/** An event of a type we do not act on: recorded, nothing more. */
export function notActedOn(event: PaymentEvent): Outcome {
  return outcome(WebhookOutcome.Ignored, null, `${event.providerType} is not acted on`);
}

/** A report about a session no attempt of ours claims (`stripe trigger`, another system's session). */
export function unknownSession(session: CheckoutSession): Outcome {
  return outcome(WebhookOutcome.Unmatched, null, `no checkout attempt of ours for session ${session.id}`);
}

/** What a session's current state says, as the webhook that reported it would have. */
function reportOf(session: CheckoutSession): { kind: SessionReport; reason?: string } | null {
  if (session.status === 'expired') return { kind: 'expired' };
  if (session.status !== 'complete') return null;
  if (session.paymentStatus !== 'unpaid') return { kind: 'completed' };
  switch (session.settlement?.state) {
    case 'succeeded':
      return { kind: 'async_succeeded' };
    case 'failed':
      return { kind: 'async_failed', reason: session.settlement.reason };
    default:
      return { kind: 'completed' };
  }
}
