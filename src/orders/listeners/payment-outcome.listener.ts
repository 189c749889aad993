import { EntityManager } from '@mikro-orm/postgresql';
import { Injectable } from '@nestjs/common';
import { OnEvent } from '@nestjs/event-emitter';
import {
  PaymentFailedEvent,
  PaymentNeedsReviewEvent,
  PaymentProcessingEvent,
  PaymentReportNotedEvent,
  PaymentSucceededEvent,
} from '../../payments/events';
import { Order } from '../order.entity';
import { applyPaymentOutcome } from '../payment-outcomes';

/**
 * What payments learn, applied to the order. Must succeed together with the payments module's
 * ledger row and attempt update: these handlers run inside the payments transaction (the injected
 * `em` resolves to it) and let errors through (`suppressErrors: false`), so that a failure here
 * rolls everything back and Stripe delivers the event again. The payments module already holds
 * the order's row lock. (The webhook's explicit statements apply the same rules through
 * `OrderAccess.fromRow`.)
 */
@Injectable()
export class PaymentOutcomeListener {
  constructor(private readonly em: EntityManager) {}

  @OnEvent(PaymentProcessingEvent.eventName, { suppressErrors: false })
  async markOrderProcessing(event: PaymentProcessingEvent): Promise<void> {
    applyPaymentOutcome(await this.order(event.orderId), event);
  }

  @OnEvent(PaymentSucceededEvent.eventName, { suppressErrors: false })
  async markOrderPaid(event: PaymentSucceededEvent): Promise<void> {
    applyPaymentOutcome(await this.order(event.orderId), event);
  }

  @OnEvent(PaymentFailedEvent.eventName, { suppressErrors: false })
  async markOrderFailed(event: PaymentFailedEvent): Promise<void> {
    applyPaymentOutcome(await this.order(event.orderId), event);
  }

  @OnEvent(PaymentNeedsReviewEvent.eventName, { suppressErrors: false })
  async flagOrderForReview(event: PaymentNeedsReviewEvent): Promise<void> {
    applyPaymentOutcome(await this.order(event.orderId), event);
  }

  @OnEvent(PaymentReportNotedEvent.eventName, { suppressErrors: false })
  async noteReport(event: PaymentReportNotedEvent): Promise<void> {
    applyPaymentOutcome(await this.order(event.orderId), event);
  }

  private order(id: string): Promise<Order> {
    if (!this.em.isInTransaction())
      throw new Error('Payment outcomes are applied inside the payments transaction');
    return this.em.findOneOrFail(Order, id);
  }
}
