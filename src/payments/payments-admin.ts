import { LockMode } from '@mikro-orm/core';
import { EntityManager } from '@mikro-orm/postgresql';
import { Injectable } from '@nestjs/common';
import { Payment } from './payment.entity';
import { ReviewAlreadyResolvedError } from './payment.errors';
import { PaymentGateway } from './payment-gateway.port';
import { Dispute } from './refunds/dispute.entity';
import { Refund } from './refunds/refund.entity';
import { type RefundCommand, RefundsService } from './refunds/refunds.service';
import { ReviewItem, type ReviewKind } from './review/review-item.entity';
import { ProcessedWebhookEvent } from './stripe/processed-webhook-event.entity';
import { WebhookIntake } from './stripe/webhook-intake.service';

export interface AttemptSnapshot {
  id: string;
  attempt: number;
  status: string;
  amount: number;
  currency: string;
  sessionId: string | null;
  paymentIntentId: string | null;
  failureMessage: string | null;
  createdAt: Date;
  expiresAt: Date;
}

export interface RefundSnapshot {
  id: string;
  orderId: string;
  amount: number;
  currency: string;
  reason: string;
  status: string;
  stripeRefundId: string | null;
  failureReason: string | null;
  requestedBy: string | null;
  createdAt: Date;
  updatedAt: Date;
}

export interface DisputeSnapshot {
  id: string;
  stripeDisputeId: string;
  amount: number;
  currency: string;
  reason: string;
  status: string;
  outcome: 'won' | 'lost' | null;
  evidenceDueBy: Date | null;
  createdAt: Date;
  updatedAt: Date;
}

export interface LedgerSnapshot {
  id: string;
  type: string;
  outcome: string | null;
  orderId: string | null;
  detail: string | null;
  deliveries: number;
  receivedAt: Date;
  lastDeliveryAt: Date;
}

export interface LedgerFilter {
  outcome?: string;
  type?: string;
  orderId?: string;
  /** Keyset: rows received before this one (`receivedAt`, then `id`). */
  after?: { receivedAt: Date; id: string };
  limit: number;
}

export interface ReviewSnapshot {
  id: string;
  orderId: string | null;
  kind: string;
  reason: string;
  sourceRef: string | null;
  createdAt: Date;
  resolvedAt: Date | null;
  resolvedBy: string | null;
  resolution: string | null;
}

export interface ReviewFilter {
  state: 'open' | 'resolved' | 'all';
  kind?: string;
  orderId?: string;
  /** Keyset: items created before this one (newest first). */
  after?: { createdAt: Date; id: string };
  limit: number;
}

export interface ReplaySnapshot {
  eventId: string;
  type: string;
  previousOutcome: string | null;
  outcome: string;
  orderId: string | null;
  detail: string;
}

/**
 * What staff may see and do of payments: an order's attempts, refunds, disputes and webhook ledger
 * entries; the ledger; a refund; a replay of a ledger event. The one facade this module exports, for
 * the staff module (reads, and the two commands staff have on payments).
 */
@Injectable()
export class PaymentsAdmin {
  constructor(
    private readonly em: EntityManager,
    private readonly refunds: RefundsService,
    private readonly intake: WebhookIntake,
    private readonly gateway: PaymentGateway,
  ) {}

  async attemptsOf(orderId: string): Promise<AttemptSnapshot[]> {
    const rows = await this.em.fork().find(Payment, { orderId }, { orderBy: { attempt: 'asc' } });
    return rows.map((p) => ({
      id: p.id,
      attempt: p.attempt,
      status: p.status,
      amount: p.amount.amount,
      currency: p.amount.currency,
      sessionId: p.sessionId,
      paymentIntentId: p.paymentIntentId,
      failureMessage: p.failureMessage,
      createdAt: p.createdAt,
      expiresAt: p.expiresAt,
    }));
  }

  async refundsOf(orderId: string): Promise<RefundSnapshot[]> {
    const rows = await this.em.fork().find(Refund, { orderId }, { orderBy: { sequence: 'asc' } });
    return rows.map(refundSnapshot);
  }

  async disputesOf(orderId: string): Promise<DisputeSnapshot[]> {
    const rows = await this.em.fork().find(Dispute, { orderId }, { orderBy: { createdAt: 'asc' } });
    return rows.map((d) => ({
      id: d.id,
      stripeDisputeId: d.stripeDisputeId,
      amount: d.amount.amount,
      currency: d.amount.currency,
      reason: d.reason,
      status: d.status,
      outcome: d.outcome,
      evidenceDueBy: d.evidenceDueBy,
      createdAt: d.createdAt,
      updatedAt: d.updatedAt,
    }));
  }

  /** The ledger, newest first. */
  async ledger(filter: LedgerFilter): Promise<LedgerSnapshot[]> {
    const rows = await this.em.fork().find(
      ProcessedWebhookEvent,
      {
        ...(filter.outcome ? { outcome: filter.outcome as ProcessedWebhookEvent['outcome'] } : {}),
        ...(filter.type ? { type: filter.type } : {}),
        ...(filter.orderId ? { orderId: filter.orderId } : {}),
        ...(filter.after
          ? {
              $or: [
                { receivedAt: { $lt: filter.after.receivedAt } },
                { receivedAt: filter.after.receivedAt, id: { $lt: filter.after.id } },
              ],
            }
          : {}),
      },
      { orderBy: { receivedAt: 'desc', id: 'desc' }, limit: filter.limit },
    );
    return rows.map((row) => ({
      id: row.id,
      type: row.type,
      outcome: row.outcome,
      orderId: row.orderId,
      detail: row.detail,
      deliveries: row.deliveries,
      receivedAt: row.receivedAt,
      lastDeliveryAt: row.lastDeliveryAt,
    }));
  }

  async reviews(filter: ReviewFilter): Promise<ReviewSnapshot[]> {
    const rows = await this.em.fork().find(
      ReviewItem,
      {
        ...(filter.state === 'open' ? { resolvedAt: null } : {}),
        ...(filter.state === 'resolved' ? { resolvedAt: { $ne: null } } : {}),
        ...(filter.kind ? { kind: filter.kind as ReviewKind } : {}),
        ...(filter.orderId ? { orderId: filter.orderId } : {}),
        ...(filter.after
          ? {
              $or: [
                { createdAt: { $lt: filter.after.createdAt } },
                { createdAt: filter.after.createdAt, id: { $lt: filter.after.id } },
              ],
            }
          : {}),
      },
      { orderBy: { createdAt: 'desc', id: 'desc' }, limit: filter.limit },
    );
    return rows.map(reviewSnapshot);
  }

  async openReviewCount(): Promise<number> {
    return this.em.fork().count(ReviewItem, { resolvedAt: null });
  }

  /**
   * Resolves a review item with a note, under its row lock; joins the caller's transaction when there
   * is one (the staff module writes its audit entry in the same one). Returns it before and after;
   * null if there is no such item.
   */
  async resolveReview(
    id: string,
    by: string,
    note: string,
  ): Promise<{ before: ReviewSnapshot; after: ReviewSnapshot } | null> {
    return this.em.transactional(async (em) => {
      const item = await em.findOne(ReviewItem, id, { lockMode: LockMode.PESSIMISTIC_WRITE, refresh: true });
      if (!item) return null;
      if (!item.isOpen) throw new ReviewAlreadyResolvedError();
      const before = reviewSnapshot(item);
      item.resolve(by, note);
      return { before, after: reviewSnapshot(item) };
    });
  }

  /** Counts for the dashboard and metrics: ledger outcomes since `since`, refunds by status. */
  async counts(since: Date): Promise<{
    webhooksSince: { type: string; outcome: string | null; count: number }[];
    refundsByStatus: { status: string; count: number }[];
  }> {
    const connection = this.em.fork().getConnection();
    const webhooksSince = await connection.execute<{ type: string; outcome: string | null; count: number }[]>(
      `select type, outcome, count(*)::int as count from processed_webhook_events
        where received_at > ? group by type, outcome`,
      [since],
    );
    const refundsByStatus = await connection.execute<{ status: string; count: number }[]>(
      'select status, count(*)::int as count from refunds group by status',
    );
    return { webhooksSince, refundsByStatus };
  }

  async refund(orderId: string, command: RefundCommand): Promise<RefundSnapshot> {
    return refundSnapshot(await this.refunds.refund(orderId, command));
  }

  /** Fetches the event again from Stripe (`GET /v1/events/:id`) and applies it through the ledger. */
  async replay(eventId: string): Promise<ReplaySnapshot> {
    const event = await this.gateway.retrieveEvent(eventId);
    const applied = await this.intake.replay(event);
    return {
      eventId: event.id,
      type: event.providerType,
      previousOutcome: applied.previous,
      outcome: applied.outcome,
      orderId: applied.orderId,
      detail: applied.detail,
    };
  }
}

function reviewSnapshot(item: ReviewItem): ReviewSnapshot {
  return {
    id: item.id,
    orderId: item.orderId,
    kind: item.kind,
    reason: item.reason,
    sourceRef: item.sourceRef,
    createdAt: item.createdAt,
    resolvedAt: item.resolvedAt,
    resolvedBy: item.resolvedBy,
    resolution: item.resolution,
  };
}

function refundSnapshot(r: Refund): RefundSnapshot {
  return {
    id: r.id,
    orderId: r.orderId,
    amount: r.amount.amount,
    currency: r.amount.currency,
    reason: r.reason,
    status: r.status,
    stripeRefundId: r.stripeRefundId,
    failureReason: r.failureReason,
    requestedBy: r.requestedByEmail,
    createdAt: r.createdAt,
    updatedAt: r.updatedAt,
  };
}
