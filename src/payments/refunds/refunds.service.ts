import { LockMode } from '@mikro-orm/core';
import { EntityManager } from '@mikro-orm/postgresql';
import { Injectable } from '@nestjs/common';
import { EventEmitter2 } from '@nestjs/event-emitter';
import { isUUID } from 'class-validator';
import type { ChangeSource } from '../../shared/change-source';
import { emitWithinTransaction } from '../../shared/domain-event';
import { Money } from '../../shared/money';
import { DisputeChangedEvent } from '../events/dispute-changed.event';
import { PaymentNeedsReviewEvent } from '../events/payment-needs-review.event';
import { RefundsChangedEvent } from '../events/refunds-changed.event';
import { OrderAccess } from '../order-access.port';
import { Payment, PaymentStatus } from '../payment.entity';
import {
  NotRefundableError,
  PaymentsOrderNotFoundError,
  PaymentProviderRefusedError,
  RefundDeclinedError,
  RefundExceedsPaymentError,
  RefundKeyReusedError,
} from '../payment.errors';
import {
  type DisputeInfo,
  PaymentGateway,
  type PaymentEvent,
  type RefundInfo,
} from '../payment-gateway.port';
import { ReviewKind } from '../review/review-item.entity';
import { ReviewQueue } from '../review/review-queue';
import { WebhookOutcome } from '../stripe/processed-webhook-event.entity';
import { Dispute } from './dispute.entity';
import { COMMITTED_REFUND_STATES, Refund, RefundState } from './refund.entity';

export interface RefundOutcome {
  outcome: WebhookOutcome;
  orderId: string | null;
  detail: string;
}

export interface RefundCommand {
  /** Minor units; absent: all that is left of the payment. */
  amount?: number;
  reason: string;
  /** The client's Idempotency-Key, if it sent one. */
  requestKey?: string;
  requestedBy: { id: string; email: string };
}

const outcome = (kind: WebhookOutcome, orderId: string | null, detail: string): RefundOutcome => ({
  outcome: kind,
  orderId,
  detail,
});

/**
 * Refunds and disputes. A refund is recorded under the order's row lock (where what is left to give
 * back is checked, so that concurrent requests cannot together exceed what was paid), then asked of
 * Stripe outside any transaction with the key `refund:<orderId>:<sequence>`, and settled by Stripe's
 * answer and its `refund.*` events, applied like every webhook: in the ledger's transaction, once.
 */
@Injectable()
export class RefundsService {
  constructor(
    private readonly em: EntityManager,
    private readonly gateway: PaymentGateway,
    private readonly orders: OrderAccess,
    private readonly reviews: ReviewQueue,
    private readonly events: EventEmitter2,
  ) {}

  async refund(orderId: string, command: RefundCommand): Promise<Refund> {
    const { refund, paymentIntentId, ask } = await this.em.transactional(() => this.record(orderId, command));
    if (!ask) return refund;
    let info: RefundInfo;
    try {
      info = await this.gateway.createRefund(
        { paymentIntentId, amount: refund.amount, orderId, refundId: refund.id },
        refund.idempotencyKey,
      );
    } catch (error) {
      // An answer (a refusal, or an error Stripe stored under the key) ends this refund.
      if (error instanceof RefundDeclinedError || error instanceof PaymentProviderRefusedError) {
        await this.em.transactional(async () => {
          await this.orders.lock(orderId);
          const locked = await this.lockRefund(refund.id);
          locked.declined(error.message);
        });
      }
      // Not answered: the refund stays `creating`; the same request (Idempotency-Key) asks again.
      throw error;
    }
    await this.em.transactional(() => this.applyRefundNews(info, { kind: 'api', ref: refund.id }));
    return this.em.fork().findOneOrFail(Refund, refund.id);
  }

  /**
   * Reconciliation: a refund Stripe never confirmed is asked for again under its own key, which
   * Stripe keeps 24 hours: the refund it made then is answered, or it is made now, never twice.
   * Past that, asking could make a second refund: a person is asked to look at Stripe instead (the
   * refund keeps counting against what can be refunded meanwhile). Throws if Stripe is unreachable.
   */
  async confirmCreation(refundId: string): Promise<'applied' | 'nothing new' | 'declined' | 'unconfirmed'> {
    const refund = await this.em.fork().findOne(Refund, refundId);
    if (!refund || refund.status !== RefundState.Creating) return 'nothing new';
    if (!refund.canAskAgain()) return 'unconfirmed';
    const payment = await this.em.fork().findOne(Payment, refund.paymentId);
    if (!payment?.paymentIntentId) return 'unconfirmed';
    let info: RefundInfo;
    try {
      info = await this.gateway.createRefund(
        {
          paymentIntentId: payment.paymentIntentId,
          amount: refund.amount,
          orderId: refund.orderId,
          refundId: refund.id,
        },
        refund.idempotencyKey,
      );
    } catch (error) {
      if (!(error instanceof RefundDeclinedError || error instanceof PaymentProviderRefusedError))
        throw error;
      await this.em.transactional(async () => {
        await this.orders.lock(refund.orderId);
        const locked = await this.lockRefund(refund.id);
        if (locked.status !== RefundState.Creating) return;
        locked.declined(error.message);
        await this.openReview(
          refund.orderId,
          ReviewKind.RefundFailed,
          `Refund of ${refund.amount.format()} failed: ${error.message}`,
          { kind: 'reconciliation', ref: refund.id },
        );
      });
      return 'declined';
    }
    const applied = await this.em.transactional(() =>
      this.applyRefundNews(info, { kind: 'reconciliation', ref: refund.id }),
    );
    return applied.outcome === WebhookOutcome.Applied ? 'applied' : 'nothing new';
  }

  /**
   * After reconciliation asked about a refund: when to ask next, or, once its key is too old, a
   * review item for a person (the refund stays `creating`: it may exist at Stripe).
   */
  async scheduleCreationCheck(refundId: string): Promise<void> {
    await this.em.transactional(async () => {
      const refund = await this.em.findOne(Refund, refundId, {
        lockMode: LockMode.PESSIMISTIC_WRITE,
        refresh: true,
      });
      if (!refund || refund.scheduleNextCheck() !== 'unconfirmed') return;
      const reason =
        `Refund of ${refund.amount.format()} (${refund.idempotencyKey}) was never confirmed by Stripe, ` +
        'and its key is too old to ask again: look for it in the Stripe Dashboard. It counts as refunded until resolved.';
      this.reviews.open(ReviewKind.RefundUnconfirmed, refund.orderId, reason, refund.id);
    });
  }

  /** `refund.created`, `refund.updated`, `refund.failed`: must run inside the ledger's transaction. */
  async applyRefundNews(info: RefundInfo, source: ChangeSource): Promise<RefundOutcome> {
    // Which order: the payment refunded, else the refund we recorded, else our metadata on it.
    const payment = info.paymentIntentId
      ? await this.em.findOne(Payment, { paymentIntentId: info.paymentIntentId })
      : null;
    const recorded = await this.em.findOne(Refund, { stripeRefundId: info.id });
    const hinted = info.orderId && isUUID(info.orderId) ? info.orderId : null;
    const orderId = payment?.orderId ?? recorded?.orderId ?? hinted;
    const order = orderId ? await this.orders.lock(orderId) : null;
    if (!order) return outcome(WebhookOutcome.Unmatched, null, `no order of ours for refund ${info.id}`);

    // Every change to an order's refunds happens under its lock: read them again now that it is held.
    let known =
      (await this.em.findOne(
        Refund,
        { stripeRefundId: info.id },
        { lockMode: LockMode.PESSIMISTIC_WRITE, refresh: true },
      )) ??
      (info.refundId && isUUID(info.refundId)
        ? await this.em.findOne(
            Refund,
            { id: info.refundId, orderId: order.id, stripeRefundId: null },
            { lockMode: LockMode.PESSIMISTIC_WRITE, refresh: true },
          )
        : null);
    if (!known) {
      // Made at Stripe (its Dashboard): recorded as ours from now on.
      if (!info.amount || !payment || payment.orderId !== order.id) {
        return outcome(WebhookOutcome.Unmatched, order.id, `refund ${info.id} is of no payment of ours`);
      }
      const count = await this.em.count(Refund, { orderId: order.id });
      known = new Refund({
        orderId: order.id,
        paymentId: payment.id,
        sequence: count + 1,
        amount: info.amount,
        reason: 'Refunded at Stripe',
        requestedBy: null,
        requestKey: null,
      });
      this.em.persist(known);
    }
    if (info.amount && !info.amount.equals(known.amount)) {
      const reason = `Stripe reports refund ${info.id} as ${info.amount.format()}; we asked for ${known.amount.format()}`;
      await this.openReview(order.id, ReviewKind.AmountMismatch, reason, source);
      return outcome(WebhookOutcome.Mismatch, order.id, reason);
    }
    const wasSucceeded = known.status === RefundState.Succeeded;
    if (known.learn(info) === 'stale') {
      return outcome(WebhookOutcome.Ignored, order.id, `refund ${info.id} already ${known.status}`);
    }
    if (wasSucceeded || known.status === RefundState.Succeeded) await this.announceTotals(order.id, source);
    if (known.status === RefundState.Failed || known.status === RefundState.Canceled) {
      const reason = `Refund of ${known.amount.format()} ${known.status}: ${known.failureReason ?? 'no reason given'}`;
      await this.openReview(order.id, ReviewKind.RefundFailed, reason, source);
    }
    return outcome(WebhookOutcome.Applied, order.id, `refund ${info.id} ${known.status}`);
  }

  /** `charge.refunded`: the refunds it lists are applied; their own events settle the rest. */
  async applyChargeRefunded(
    event: Extract<PaymentEvent, { type: 'charge.refunded' }>,
    source: ChangeSource,
  ): Promise<RefundOutcome> {
    const results: RefundOutcome[] = [];
    for (const refund of event.refunds) results.push(await this.applyRefundNews(refund, source));
    const applied = results.find((r) => r.outcome === WebhookOutcome.Applied);
    if (applied)
      return outcome(WebhookOutcome.Applied, applied.orderId, results.map((r) => r.detail).join('; '));
    const payment = event.paymentIntentId
      ? await this.em.findOne(Payment, { paymentIntentId: event.paymentIntentId })
      : null;
    const total = event.amountRefunded?.format() ?? 'an unknown amount';
    return outcome(
      payment ? WebhookOutcome.Ignored : WebhookOutcome.Unmatched,
      payment?.orderId ?? null,
      `charge ${event.chargeId}: ${total} refunded in all (refunds settle through refund.* events)`,
    );
  }

  /** `charge.dispute.created`, `.updated`, `.closed`: recorded on the order, a person told. */
  async applyDisputeNews(info: DisputeInfo, source: ChangeSource): Promise<RefundOutcome> {
    const payment = info.paymentIntentId
      ? await this.em.findOne(Payment, { paymentIntentId: info.paymentIntentId })
      : null;
    const order = payment ? await this.orders.lock(payment.orderId) : null;
    if (!payment || !order)
      return outcome(WebhookOutcome.Unmatched, null, `no order of ours for dispute ${info.id}`);
    const amount = info.amount ?? payment.amount;
    const now = new Date();
    let dispute = await this.em.findOne(
      Dispute,
      { stripeDisputeId: info.id },
      { lockMode: LockMode.PESSIMISTIC_WRITE, refresh: true },
    );
    const opened = !dispute;
    if (!dispute) {
      dispute = new Dispute(order.id, payment.id, info, amount);
      this.em.persist(dispute);
    } else if (dispute.learn(info, amount, now) === 'stale') {
      return outcome(WebhookOutcome.Ignored, order.id, `dispute ${info.id} already ${dispute.status}`);
    }
    const description = describeDispute(dispute, opened);
    await this.announce(
      new DisputeChangedEvent(order.id, dispute.outcome ?? 'open', description, source, now),
    );
    if (opened) await this.openReview(order.id, ReviewKind.Dispute, description, source);
    else if (dispute.outcome === 'lost')
      await this.openReview(order.id, ReviewKind.DisputeLost, description, source);
    return outcome(WebhookOutcome.Applied, order.id, `dispute ${info.id} ${dispute.status}`);
  }

  /** Under the order's lock: what is left to give back, checked; the refund recorded. */
  private async record(
    orderId: string,
    command: RefundCommand,
  ): Promise<{ refund: Refund; paymentIntentId: string; ask: boolean }> {
    const order = await this.orders.lock(orderId);
    if (!order) throw new PaymentsOrderNotFoundError();
    const payments = await this.em.find(
      Payment,
      { orderId, status: PaymentStatus.Succeeded },
      { orderBy: { attempt: 'asc' }, refresh: true },
    );
    const refunds = await this.em.find(Refund, { orderId }, { refresh: true });
    if (command.requestKey) {
      const same = refunds.find((r) => r.requestKey === command.requestKey);
      if (same) {
        if (command.amount !== undefined && command.amount !== same.amount.amount)
          throw new RefundKeyReusedError();
        const payment = payments.find((p) => p.id === same.paymentId);
        return {
          refund: same,
          paymentIntentId: payment?.paymentIntentId ?? '',
          ask: same.status === RefundState.Creating && !!payment?.paymentIntentId,
        };
      }
    }
    const left = payments
      .filter((payment) => payment.paymentIntentId)
      .map((payment) => ({
        payment,
        left:
          payment.amount.amount -
          refunds
            .filter((r) => r.paymentId === payment.id && COMMITTED_REFUND_STATES.includes(r.status))
            .reduce((sum, r) => sum + r.amount.amount, 0),
      }))
      .sort((a, b) => b.left - a.left);
    const target = left[0];
    if (!target) throw new NotRefundableError();
    if (target.left <= 0)
      throw new NotRefundableError('Everything paid for this order is refunded or being refunded');
    const amount = command.amount ?? target.left;
    if (amount > target.left)
      throw new RefundExceedsPaymentError(Money.of(target.left, target.payment.amount.currency).format());
    const refund = new Refund({
      orderId,
      paymentId: target.payment.id,
      sequence: refunds.length + 1,
      amount: Money.of(amount, target.payment.amount.currency),
      reason: command.reason,
      requestedBy: command.requestedBy,
      requestKey: command.requestKey ?? null,
    });
    this.em.persist(refund);
    return { refund, paymentIntentId: target.payment.paymentIntentId!, ask: true };
  }

  private lockRefund(id: string): Promise<Refund> {
    return this.em.findOneOrFail(Refund, id, { lockMode: LockMode.PESSIMISTIC_WRITE, refresh: true });
  }

  /** The order's totals after this change (this unit of work's refunds included), told to orders. */
  private async announceTotals(orderId: string, source: ChangeSource): Promise<void> {
    await this.em.flush();
    const payments = await this.em.find(Payment, { orderId, status: PaymentStatus.Succeeded });
    const refunds = await this.em.find(Refund, { orderId, status: RefundState.Succeeded });
    const currency = payments[0]?.amount.currency ?? refunds[0]?.amount.currency;
    if (!currency) return;
    const sum = (items: { amount: Money }[]) => items.reduce((total, item) => total + item.amount.amount, 0);
    await this.announce(
      new RefundsChangedEvent(orderId, currency, sum(payments), sum(refunds), source, new Date()),
    );
  }

  /** A durable review item, and the order flagged (its history, for staff). */
  private async openReview(
    orderId: string,
    kind: ReviewKind,
    reason: string,
    source: ChangeSource,
  ): Promise<void> {
    this.reviews.open(kind, orderId, reason, source.ref ?? null);
    await this.announce(new PaymentNeedsReviewEvent(orderId, reason, source, new Date()));
  }

  private announce(event: object): Promise<void> {
    return emitWithinTransaction(this.events, event);
  }
}

function describeDispute(dispute: Dispute, opened: boolean): string {
  const amount = dispute.amount.format();
  if (dispute.outcome === 'lost') return `Dispute lost (${dispute.reason}): ${amount} taken back`;
  if (dispute.outcome === 'won') return `Dispute won (${dispute.reason}): ${amount} kept`;
  if (dispute.isClosed) return `Dispute closed (${dispute.status})`;
  const due = dispute.evidenceDueBy ? `, evidence due by ${dispute.evidenceDueBy.toISOString()}` : '';
  return opened
    ? `Dispute opened (${dispute.reason}): ${amount}${due}`
    : `Dispute ${dispute.status.replace(/_/g, ' ')} (${dispute.reason})${due}`;
}
