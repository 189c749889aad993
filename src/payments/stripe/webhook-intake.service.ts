import { EntityManager } from '@mikro-orm/postgresql';
import { Injectable, Logger } from '@nestjs/common';
import { AppConfig } from '../../config';
import { CheckoutOutcomes, type Outcome } from '../checkout-outcomes.service';
import { WebhookLivemodeMismatchError, WebhookSignatureError } from '../payment.errors';
import { PaymentGateway, type PaymentEvent } from '../payment-gateway.port';
import { ReviewKind } from '../review/review-item.entity';
import { ReviewQueue } from '../review/review-queue';
import { WebhookOutcome } from './processed-webhook-event.entity';
import { WebhookLedger } from './webhook-ledger';

export type WebhookReceipt = Outcome | { outcome: 'duplicate'; orderId: null; detail: string };

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
    const receipt = await this.em.transactional(async (): Promise<WebhookReceipt> => {
      if (!(await this.ledger.claim(event.id, event.providerType))) {
        return { outcome: 'duplicate', orderId: null, detail: 'delivered before' };
      }
      if (event.type === 'malformed') {
        const kept = this.keepMalformed(event);
        await this.ledger.record(event.id, kept.outcome, null, kept.detail, event.payload);
        return kept;
      }
      const applied = await this.outcomes.apply(event, { kind: 'webhook', ref: event.id });
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
   * An authentic event we cannot read: answering 5xx would have Stripe retry it for days to no
   * avail. It is kept (raw) for staff, who can replay it once the code reads it.
   */
  private keepMalformed(event: MalformedEvent): Outcome {
    const detail = `Unreadable ${event.providerType} event: ${event.problem}`;
    this.reviews.open(ReviewKind.MalformedEvent, null, detail, event.id);
    return { outcome: WebhookOutcome.Malformed, orderId: null, detail };
  }
}
