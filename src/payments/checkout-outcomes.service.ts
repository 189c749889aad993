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
import { type LockedOrder, OrderAccess } from './order-access.port';
import { Payment, PaymentStatus, type ReportEffect } from './payment.entity';
import type { CheckoutSession, PaymentEvent } from './payment-gateway.port';
import { ReviewKind } from './review/review-item.entity';
import { ReviewQueue } from './review/review-queue';
import { WebhookOutcome } from './stripe/processed-webhook-event.entity';

/** What Stripe can tell us about a Checkout Session. */
type SessionReport = 'completed' | 'async_succeeded' | 'async_failed' | 'expired';

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
        return this.applySessionReport('completed', event.session, source);
      case 'checkout.async_succeeded':
        return this.applySessionReport('async_succeeded', event.session, source);
      case 'checkout.async_failed':
        return this.applySessionReport('async_failed', event.session, source);
      case 'checkout.expired':
        return this.applySessionReport('expired', event.session, source);
      case 'payment.declined':
        return this.applyDecline(event, source);
      case 'unsupported':
        return Promise.resolve(
          outcome(WebhookOutcome.Ignored, null, `${event.providerType} is not acted on`),
        );
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

  private async applySessionReport(
    kind: SessionReport,
    session: CheckoutSession,
    source: ChangeSource,
    reason?: string,
  ): Promise<Outcome> {
    const known = await this.attemptOf(session);
    if (!known) {
      return outcome(WebhookOutcome.Unmatched, null, `no checkout attempt of ours for session ${session.id}`);
    }
    // The order, then all of its attempts, locked in that order (as checkout does): two statements.
    const order = await this.orders.lockState(known.orderId);
    const { payment, attempts } = await this.lockAttempts(known);
    if (!order) return outcome(WebhookOutcome.Unmatched, null, `attempt ${payment.id} has no order`);
    if ((session.orderId && session.orderId !== payment.orderId) || !this.claimsSession(payment, session)) {
      // Someone else's session pointing at this attempt: a person looks; the attempt itself goes on.
      const detail = `Session ${session.id} (order ${session.orderId ?? '?'}) does not belong to attempt ${payment.attempt} of order ${payment.orderId}`;
      await this.openReview(payment, ReviewKind.ForeignSession, detail, source);
      return outcome(WebhookOutcome.Mismatch, payment.orderId, detail);
    }
    if (!payment.sessionId) payment.linkSession(session.id);
    if ((kind === 'completed' || kind === 'async_succeeded') && !session.amount?.equals(payment.amount)) {
      const reported = session.amount?.format() ?? 'no amount';
      const detail = `Stripe reported ${reported} for session ${session.id}; the order costs ${payment.amount.format()}`;
      return this.needsReview(payment, ReviewKind.AmountMismatch, detail, source);
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
      return this.noteOutdated(payment, DESCRIPTION[kind], source, now);
    }
    switch (payment.status) {
      case PaymentStatus.Succeeded:
        return this.paymentSucceeded(payment, attempts, order, source, now);
      case PaymentStatus.Processing:
        if (order.status === 'canceled') {
          await this.openReview(
            payment,
            ReviewKind.PaidAfterCancel,
            `A bank payment started after cancellation (session ${session.id})`,
            source,
          );
        }
        await this.tellOrders(new PaymentProcessingEvent(payment.orderId, payment.id, source, now));
        return outcome(WebhookOutcome.Applied, payment.orderId, `attempt ${payment.attempt} processing`);
      default:
        if (kind === 'expired' && payment.closeRequestedAt) {
          // A session we closed ourselves (superseded, canceled, paid elsewhere): no failure to show.
          return this.noteOutdated(payment, DESCRIPTION.expired, source, now, 'a newer state of the order');
        }
        return this.paymentFailed(
          payment,
          attempts,
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
    await this.orders.lockState(known.orderId);
    const { payment, attempts } = await this.lockAttempts(known);
    const description = `Payment declined: ${event.message}`;
    const now = new Date();
    if (payment.declined(event.code, event.message, event.paymentIntentId, now) === 'outdated') {
      return this.noteOutdated(payment, description, source, now);
    }
    return this.paymentFailed(payment, attempts, event.message, source, now);
  }

  private async paymentSucceeded(
    payment: Payment,
    attempts: readonly Payment[],
    order: LockedOrder,
    source: ChangeSource,
    now: Date,
  ): Promise<Outcome> {
    const { amount, currency } = payment.amount;
    const others = attempts.filter((other) => other !== payment);
    const earlier = others.find((other) => other.status === PaymentStatus.Succeeded);
    if (earlier) {
      await this.openReview(
        payment,
        ReviewKind.PaidTwice,
        `Paid twice (attempts ${earlier.attempt} and ${payment.attempt}): refund one`,
        source,
      );
    } else if (order.status === 'canceled') {
      await this.openReview(
        payment,
        ReviewKind.PaidAfterCancel,
        `Paid after cancellation (attempt ${payment.attempt}): refund or reinstate`,
        source,
      );
    }
    // Only one session may take money: every other one still open is closed.
    for (const other of others) other.requestClose(now);
    await this.tellOrders(
      new PaymentSucceededEvent(payment.orderId, payment.id, amount, currency, source, now),
    );
    return outcome(WebhookOutcome.Applied, payment.orderId, `attempt ${payment.attempt} succeeded`);
  }

  /** A failure moves the order only if it is about the order's newest attempt. */
  private async paymentFailed(
    payment: Payment,
    attempts: readonly Payment[],
    reason: string,
    source: ChangeSource,
    now: Date,
  ): Promise<Outcome> {
    const newest = attempts[0];
    if (newest.id !== payment.id)
      return this.noteOutdated(payment, reason, source, now, 'a newer checkout attempt');
    await this.tellOrders(new PaymentFailedEvent(payment.orderId, payment.id, reason, source, now));
    return outcome(WebhookOutcome.Applied, payment.orderId, `attempt ${payment.attempt}: ${reason}`);
  }

  /** A report the attempt has moved past: written in the order's history (for staff), nothing more. */
  private async noteOutdated(
    payment: Payment,
    description: string,
    source: ChangeSource,
    now: Date,
    supersededBy?: string,
  ): Promise<Outcome> {
    const detail = supersededBy
      ? `${description} (superseded by ${supersededBy})`
      : `${description} (checkout attempt ${payment.attempt} already ${payment.status})`;
    await this.tellOrders(new PaymentReportNotedEvent(payment.orderId, detail, source, now));
    return outcome(WebhookOutcome.Ignored, payment.orderId, detail);
  }

  /** The attempt stops here (terminal: reconciliation leaves it alone) and a person is asked. */
  private async needsReview(
    payment: Payment,
    kind: ReviewKind,
    reason: string,
    source: ChangeSource,
  ): Promise<Outcome> {
    payment.needsReview(reason);
    await this.openReview(payment, kind, reason, source);
    return outcome(WebhookOutcome.Mismatch, payment.orderId, reason);
  }

  private async openReview(
    payment: Payment,
    kind: ReviewKind,
    reason: string,
    source: ChangeSource,
  ): Promise<void> {
    this.reviews.open(kind, payment.orderId, reason, source.ref ?? payment.sessionId);
    await this.tellOrders(new PaymentNeedsReviewEvent(payment.orderId, reason, source, new Date()));
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

  /** Tells the orders module, within this transaction: a failure there rolls back the ledger row too. */
  private tellOrders(event: object): Promise<void> {
    return emitWithinTransaction(this.events, event);
  }
}

function outcome(result: WebhookOutcome, orderId: string | null, detail: string): Outcome {
  return { outcome: result, orderId, detail };
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
