import { EnsureRequestContext } from '@mikro-orm/core';
import { EntityManager } from '@mikro-orm/postgresql';
import { Injectable, Logger } from '@nestjs/common';
import { AppConfig } from '../../config';
import { SqlTransactions } from '../../shared/database/sql-transactions';
import { CheckoutOutcomes, isSessionReport, notActedOn, type Outcome } from '../checkout-outcomes.service';
import {
  EventNotReplayableError,
  LedgerEventNotFoundError,
  WebhookLivemodeMismatchError,
  WebhookSignatureError,
} from '../payment.errors';
import { PaymentGateway, type PaymentEvent } from '../payment-gateway.port';
import { RefundsService } from '../refunds/refunds.service';
import { ReviewKind } from '../review/review-item.entity';
import { ReviewQueue } from '../review/review-queue';
import { WebhookOutcome } from './processed-webhook-event.entity';
import { WebhookLedger } from './webhook-ledger';
import { WebhookSessionReports } from './webhook-session-reports';

export type WebhookReceipt = Outcome | { outcome: 'duplicate'; orderId: null; detail: string };

/** Outcomes whose event took no effect, so that applying it again (replay) cannot apply it twice. */
const REPLAYABLE: ReadonlySet<WebhookOutcome | null> = new Set([
  WebhookOutcome.Unmatched,
  WebhookOutcome.Ignored,
  WebhookOutcome.Malformed,
]);

type MalformedEvent = Extract<PaymentEvent, { type: 'malformed' }>;

/**
 * Stripe's webhooks in: verified on their raw bytes, checked against this service's mode, entered
 * in the ledger and applied in one transaction. Resolves only after commit; throws (and commits
 * nothing) on any failure, so that Stripe delivers the event again.
 */
@Injectable()
export class WebhookIntake {
  private readonly logger = new Logger(WebhookIntake.name);

  constructor(
    private readonly em: EntityManager,
    private readonly gateway: PaymentGateway,
    private readonly ledger: WebhookLedger,
    private readonly outcomes: CheckoutOutcomes,
    private readonly reviews: ReviewQueue,
    private readonly config: AppConfig,
    private readonly refunds: RefundsService,
    private readonly sessionReports: WebhookSessionReports,
    private readonly transactions: SqlTransactions,
  ) {}

  async receive(rawBody: Buffer, signature: string | undefined): Promise<WebhookReceipt> {
    let event: PaymentEvent;
    try {
      event = this.gateway.verifyWebhook(rawBody, signature);
    } catch (error) {
      if (error instanceof WebhookSignatureError)
        this.logger.warn({ err: error.message }, 'Webhook rejected');
      throw error;
    }
    const expected = this.config.stripe.livemode;
    if (event.livemode !== null && event.livemode !== expected) {
      // Authentic, but from the other mode: a misconfigured endpoint, never money of ours.
      this.logger.error(
        { stripeEventId: event.id, type: event.providerType, livemode: event.livemode },
        `Webhook refused: a ${event.livemode ? 'live' : 'test'}-mode event at a ${expected ? 'live' : 'test'}-mode service`,
      );
      throw new WebhookLivemodeMismatchError(expected);
    }
    const receipt = await this.intake(event);
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
   * The ledger and the effect, in one transaction. Reports about a Checkout Session (most of the
   * traffic) and types we do not act on take explicit statements, one round trip each; the rest
   * (declines, refunds, disputes, unreadable events) MikroORM's unit of work.
   */
  private intake(event: PaymentEvent): Promise<WebhookReceipt> {
    if (isSessionReport(event)) return this.sessionReports.receive(event);
    if (event.type === 'unsupported') return this.ignore(event);
    return this.inUnitOfWork(event);
  }

  @EnsureRequestContext()
  private inUnitOfWork(event: PaymentEvent): Promise<WebhookReceipt> {
    return this.em.transactional(async (): Promise<WebhookReceipt> => {
      if (!(await this.ledger.claim(event.id, event.providerType))) {
        return { outcome: 'duplicate', orderId: null, detail: 'delivered before' };
      }
      if (event.type === 'malformed') {
        const kept = this.keepMalformed(event);
        await this.ledger.record(event.id, kept.outcome, null, kept.detail, event.payload);
        return kept;
      }
      const applied = await this.apply(event);
      await this.ledger.record(event.id, applied.outcome, applied.orderId, applied.detail);
      return applied;
    });
  }

  /** A type we do not act on: recorded as ignored, claim and outcome in one statement. */
  private async ignore(event: PaymentEvent): Promise<WebhookReceipt> {
    const ignored = notActedOn(event);
    const [row] = await this.transactions.run((tx) =>
      tx.commit<{ deliveries: number }>(
        this.ledger.claimRecordedStatement(event.id, event.providerType, ignored.outcome, ignored.detail),
      ),
    );
    return row.deliveries === 1
      ? ignored
      : { outcome: 'duplicate', orderId: null, detail: 'delivered before' };
  }

  /**
   * An event fetched again from Stripe (a staff member's replay), applied through the same ledger
   * row and rules as its delivery was: only if that delivery took no effect (`unmatched`,
   * `ignored`, `malformed`), and at most once however often it is replayed, since the row is locked
   * and its outcome rewritten in the same transaction.
   */
  async replay(event: PaymentEvent): Promise<Outcome & { previous: WebhookOutcome | null }> {
    const receipt = await this.em.transactional(async () => {
      const previous = await this.ledger.lockForReplay(event.id);
      if (previous === undefined) throw new LedgerEventNotFoundError();
      if (!REPLAYABLE.has(previous)) throw new EventNotReplayableError(previous ?? 'unknown');
      if (event.type === 'malformed') {
        // Still unreadable: it stays as it was.
        return {
          outcome: WebhookOutcome.Malformed,
          orderId: null,
          detail: `still unreadable: ${event.problem}`,
          previous,
        };
      }
      const applied = await this.apply(event);
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

  /** The rules for each kind of news: checkout attempts, or refunds and disputes. */
  private apply(event: PaymentEvent): Promise<Outcome> {
    const source = { kind: 'webhook', ref: event.id } as const;
    switch (event.type) {
      case 'refund.updated':
        return this.refunds.applyRefundNews(event.refund, source);
      case 'charge.refunded':
        return this.refunds.applyChargeRefunded(event, source);
      case 'dispute.updated':
        return this.refunds.applyDisputeNews(event.dispute, source);
      default:
        return this.outcomes.apply(event, source);
    }
  }

  /**
   * An authentic event we cannot read: answering 5xx would have Stripe retry it for days to no
   * avail. It is kept (raw) for staff, who can replay it once the code reads it.
   */
  private keepMalformed(event: MalformedEvent): Outcome {
    const detail = `Unreadable ${event.providerType} event: ${event.problem}`;
    this.reviews.open(ReviewKind.MalformedEvent, null, detail, event.id);
    return { outcome: WebhookOutcome.Malformed, orderId: null, detail };
  }
}
