import { LockMode } from '@mikro-orm/core';
import { EntityManager } from '@mikro-orm/postgresql';
import { Injectable, Logger } from '@nestjs/common';
import { EventEmitter2 } from '@nestjs/event-emitter';
import { OrdersReader, type TransitionSource } from '../orders';
import { emitWithinTransaction } from '../shared/domain-event';
import { PaymentFailedEvent } from './events/payment-failed.event';
import { PaymentNeedsReviewEvent } from './events/payment-needs-review.event';
import { PaymentNewsIgnoredEvent } from './events/payment-news-ignored.event';
import { PaymentProcessingEvent } from './events/payment-processing.event';
import { PaymentSucceededEvent } from './events/payment-succeeded.event';
import { type NewsEffect, Payment, PaymentStatus } from './payment.entity';
import { EventNotReplayableError, LedgerEventNotFoundError, WebhookSignatureError } from './payment.errors';
import { type CheckoutSession, PaymentGateway, type PaymentEvent } from './payment-gateway.port';
import { WebhookOutcome } from './stripe/processed-webhook-event.entity';
import { WebhookLedger } from './stripe/webhook-ledger';
import { RefundsService } from './refunds/refunds.service';

/** Outcomes whose event took no effect, so that applying it again (replay) cannot apply it twice. */
const REPLAYABLE: ReadonlySet<string | null> = new Set([
  WebhookOutcome.Unmatched,
  WebhookOutcome.Ignored,
  'malformed',
]);

type SessionNews = 'completed' | 'async_succeeded' | 'async_failed' | 'expired';

const DESCRIPTION: Record<SessionNews, string> = {
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

export interface Applied {
  outcome: WebhookOutcome;
  orderId: string | null;
  detail: string;
}

export type WebhookReceipt = Applied | { outcome: 'duplicate'; orderId: null; detail: string };

/**
 * Applies what Stripe tells us, whichever way it arrives (a signed webhook, the success page's
 * check, reconciliation), to the checkout attempt it is about and, through events that join the
 * same transaction, to the order: exactly once, in any order, however often.
 */
@Injectable()
export class PaymentEventsService {
  private readonly logger = new Logger(PaymentEventsService.name);

  constructor(
    private readonly em: EntityManager,
    private readonly gateway: PaymentGateway,
    private readonly orders: OrdersReader,
    private readonly ledger: WebhookLedger,
    private readonly events: EventEmitter2,
    private readonly refunds: RefundsService,
  ) {}

  /**
   * A webhook: verified on its raw bytes first, then entered in the ledger and applied in one
   * transaction. Resolves only after commit; throws (and commits nothing) on any failure, so that
   * Stripe delivers it again.
   */
  async receiveWebhook(rawBody: Buffer, signature: string | undefined): Promise<WebhookReceipt> {
    let event: PaymentEvent;
    try {
      event = this.gateway.verifyWebhook(rawBody, signature);
    } catch (error) {
      if (error instanceof WebhookSignatureError)
        this.logger.warn({ err: error.message }, 'Webhook rejected');
      throw error;
    }
    const receipt = await this.em.transactional(async (): Promise<WebhookReceipt> => {
      if (!(await this.ledger.claim(event.id, event.providerType))) {
        return { outcome: 'duplicate', orderId: null, detail: 'delivered before' };
      }
      const applied = await this.apply(event, { kind: 'webhook', ref: event.id });
      await this.ledger.record(event.id, applied.outcome, applied.orderId, applied.detail);
      return applied;
    });
    this.logger.log(
      {
        stripeEventId: event.id,
        type: event.providerType,
        orderId: receipt.orderId,
        outcome: receipt.outcome,
      },
      `Webhook ${event.providerType}: ${receipt.outcome} (${receipt.detail})`,
    );
    return receipt;
  }

  /**
   * An event fetched again from Stripe (a staff member's replay), applied through the same ledger
   * row and rules as its delivery was: only if that delivery took no effect (`unmatched`,
   * `ignored`, `malformed`), and at most once however often it is replayed, since the row is locked
   * and its outcome rewritten in the same transaction.
   */
  async replay(event: PaymentEvent): Promise<Applied & { previous: WebhookOutcome | null }> {
    const receipt = await this.em.transactional(async () => {
      const previous = await this.ledger.lockForReplay(event.id);
      if (previous === undefined) throw new LedgerEventNotFoundError();
      if (!REPLAYABLE.has(previous)) throw new EventNotReplayableError(previous ?? 'unknown');
      const applied = await this.apply(event, { kind: 'webhook', ref: event.id });
      await this.ledger.record(event.id, applied.outcome, applied.orderId, `replayed: ${applied.detail}`);
      return { ...applied, previous };
    });
    this.logger.log(
      {
        stripeEventId: event.id,
        type: event.providerType,
        orderId: receipt.orderId,
        outcome: receipt.outcome,
      },
      `Webhook ${event.providerType} replayed: ${receipt.previous} → ${receipt.outcome} (${receipt.detail})`,
    );
    return receipt;
  }

  /**
   * A session as Stripe reports it right now (the success page's check, reconciliation), applied as
   * its webhook would be. An open session teaches nothing: null.
   */
  async applySession(session: CheckoutSession, source: TransitionSource): Promise<Applied | null> {
    const news = newsOf(session);
    if (!news) return null;
    return this.em.transactional(() => this.applySessionNews(news.kind, session, source, news.reason));
  }

  private apply(event: PaymentEvent, source: TransitionSource): Promise<Applied> {
    switch (event.type) {
      case 'checkout.completed':
        return this.applySessionNews('completed', event.session, source);
      case 'checkout.async_succeeded':
        return this.applySessionNews('async_succeeded', event.session, source);
      case 'checkout.async_failed':
        return this.applySessionNews('async_failed', event.session, source);
      case 'checkout.expired':
        return this.applySessionNews('expired', event.session, source);
      case 'payment.declined':
        return this.applyDecline(event, source);
      case 'refund.updated':
        return this.refunds.applyRefundNews(event.refund, source);
      case 'charge.refunded':
        return this.refunds.applyChargeRefunded(event, source);
      case 'dispute.updated':
        return this.refunds.applyDisputeNews(event.dispute, source);
      case 'unsupported':
        return Promise.resolve(result(WebhookOutcome.Ignored, null, `${event.providerType} is not acted on`));
    }
  }

  private async applySessionNews(
    kind: SessionNews,
    session: CheckoutSession,
    source: TransitionSource,
    reason?: string,
  ): Promise<Applied> {
    const orderId =
      session.orderId ?? (await this.em.findOne(Payment, { sessionId: session.id }))?.orderId ?? null;
    const order = orderId ? await this.orders.lock(orderId) : null;
    if (!order) return result(WebhookOutcome.Unmatched, null, `no order of ours for session ${session.id}`);
    const payment =
      (await this.em.findOne(
        Payment,
        { sessionId: session.id },
        { lockMode: LockMode.PESSIMISTIC_WRITE, refresh: true },
      )) ?? (await this.adoptSession(order.id, session.id));
    if (!payment) {
      return result(WebhookOutcome.Unmatched, order.id, `session ${session.id} was not opened here`);
    }
    if (payment.orderId !== order.id) {
      return this.needsReview(order.id, source, `Session ${session.id} belongs to another order`);
    }
    if ((kind === 'completed' || kind === 'async_succeeded') && !session.amount?.equals(payment.amount)) {
      const reported = session.amount?.format() ?? 'no amount';
      return this.needsReview(
        order.id,
        source,
        `Stripe reported ${reported} for session ${session.id}; the order costs ${payment.amount.format()}`,
      );
    }

    const now = new Date();
    const effect = this.record(kind, payment, session, reason ?? REASON.settlementFailed, now);
    if (effect === 'stale') {
      // The same success learned twice (webhook after the success page's check) is no news at all.
      if (payment.status === PaymentStatus.Succeeded && kind !== 'async_failed' && kind !== 'expired') {
        const detail = `attempt ${payment.attempt} already succeeded`;
        return result(WebhookOutcome.Ignored, payment.orderId, detail);
      }
      return this.ignoreStale(payment, DESCRIPTION[kind], source, now);
    }
    switch (payment.status) {
      case PaymentStatus.Succeeded:
        return this.announceSuccess(payment, source, now);
      case PaymentStatus.Processing:
        await this.announce(new PaymentProcessingEvent(payment.orderId, payment.id, source, now));
        return result(WebhookOutcome.Applied, payment.orderId, `attempt ${payment.attempt} processing`);
      default:
        return this.announceFailure(
          payment,
          kind === 'expired' ? REASON.expired : payment.failureMessage!,
          source,
          now,
        );
    }
  }

  private record(
    kind: SessionNews,
    payment: Payment,
    session: CheckoutSession,
    failure: string,
    now: Date,
  ): NewsEffect {
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
  private async applyDecline(
    event: Extract<PaymentEvent, { type: 'payment.declined' }>,
    source: TransitionSource,
  ): Promise<Applied> {
    const known = await this.em.findOne(Payment, { paymentIntentId: event.paymentIntentId });
    const orderId = known?.orderId ?? event.orderId;
    const order = orderId ? await this.orders.lock(orderId) : null;
    if (!order)
      return result(WebhookOutcome.Unmatched, null, `no order of ours for ${event.paymentIntentId}`);
    const attempts = await this.em.find(
      Payment,
      { orderId: order.id },
      { lockMode: LockMode.PESSIMISTIC_WRITE, orderBy: { attempt: 'desc' }, refresh: true },
    );
    // The payment intent is learned with the first decline or the completion; before, the decline
    // is about the newest attempt, provided it happened after that attempt began.
    const payment = attempts.find((p) => p.paymentIntentId === event.paymentIntentId) ?? attempts[0];
    if (!payment) return result(WebhookOutcome.Unmatched, order.id, 'the order has no checkout attempt');
    const description = `Payment declined: ${event.message}`;
    const now = new Date();
    if (!payment.paymentIntentId && event.occurredAt.getTime() + 1000 < payment.createdAt.getTime()) {
      return this.ignoreStale(payment, description, source, now, 'an older checkout attempt');
    }
    if (payment.declined(event.code, event.message, event.paymentIntentId, now) === 'stale') {
      return this.ignoreStale(payment, description, source, now);
    }
    return this.announceFailure(payment, event.message, source, now, attempts[0]);
  }

  private async announceSuccess(payment: Payment, source: TransitionSource, now: Date): Promise<Applied> {
    const { amount, currency } = payment.amount;
    await this.announce(
      new PaymentSucceededEvent(payment.orderId, payment.id, amount, currency, source, now),
    );
    const others = await this.em.find(Payment, { orderId: payment.orderId, id: { $ne: payment.id } });
    const earlier = others.find((other) => other.status === PaymentStatus.Succeeded);
    if (earlier) {
      await this.announce(
        new PaymentNeedsReviewEvent(
          payment.orderId,
          `Paid twice (attempts ${earlier.attempt} and ${payment.attempt}): refund one`,
          source,
          now,
        ),
      );
    }
    return result(WebhookOutcome.Applied, payment.orderId, `attempt ${payment.attempt} succeeded`);
  }

  /** A failure moves the order only if it is about the order's newest attempt. */
  private async announceFailure(
    payment: Payment,
    reason: string,
    source: TransitionSource,
    now: Date,
    newest?: Payment,
  ): Promise<Applied> {
    newest ??= (await this.em.findOne(
      Payment,
      { orderId: payment.orderId },
      { orderBy: { attempt: 'desc' } },
    ))!;
    if (newest.id !== payment.id)
      return this.ignoreStale(payment, reason, source, now, 'a newer checkout attempt');
    await this.announce(new PaymentFailedEvent(payment.orderId, payment.id, reason, source, now));
    return result(WebhookOutcome.Applied, payment.orderId, `attempt ${payment.attempt}: ${reason}`);
  }

  /** News the attempt has moved past: written in the order's history, where it changes nothing. */
  private async ignoreStale(
    payment: Payment,
    description: string,
    source: TransitionSource,
    now: Date,
    supersededBy?: string,
  ): Promise<Applied> {
    const detail = supersededBy
      ? `${description} (superseded by ${supersededBy})`
      : `${description} (checkout attempt ${payment.attempt} already ${payment.status})`;
    await this.announce(new PaymentNewsIgnoredEvent(payment.orderId, detail, source, now));
    return result(WebhookOutcome.Ignored, payment.orderId, detail);
  }

  private async needsReview(orderId: string, source: TransitionSource, reason: string): Promise<Applied> {
    this.logger.warn({ orderId, reason }, 'Payment needs review');
    await this.announce(new PaymentNeedsReviewEvent(orderId, reason, source, new Date()));
    return result(WebhookOutcome.Mismatch, orderId, reason);
  }

  /** News about a session whose creation call has not returned yet: it belongs to that attempt. */
  private async adoptSession(orderId: string, sessionId: string): Promise<Payment | null> {
    const pending = await this.em.findOne(
      Payment,
      { orderId, sessionId: null },
      { lockMode: LockMode.PESSIMISTIC_WRITE, orderBy: { attempt: 'desc' }, refresh: true },
    );
    if (pending?.status !== PaymentStatus.Creating) return null;
    pending.adoptSession(sessionId);
    return pending;
  }

  /** Tells the orders module, within this transaction: a failure there rolls back the ledger row too. */
  private announce(event: object): Promise<void> {
    return emitWithinTransaction(this.events, event);
  }
}

function result(outcome: WebhookOutcome, orderId: string | null, detail: string): Applied {
  return { outcome, orderId, detail };
}

/** What a session's current state says, as the webhook that reported it would have. */
function newsOf(session: CheckoutSession): { kind: SessionNews; reason?: string } | null {
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
