import { EntityManager } from '@mikro-orm/postgresql';
import { Injectable } from '@nestjs/common';
import { OnEvent } from '@nestjs/event-emitter';
import {
  CheckoutStartedEvent,
  PaymentFailedEvent,
  PaymentNeedsReviewEvent,
  PaymentProcessingEvent,
  PaymentReportNotedEvent,
  PaymentSucceededEvent,
} from '../../payments';
import { Order } from '../order.entity';
import { REASONS } from '../order-status';

/**
 * What payments learn, applied to the order. Must succeed together with the payments module's
 * ledger row and attempt update: these handlers run inside the payments transaction (the injected
 * `em` resolves to it) and let errors through (`suppressErrors: false`), so that a failure here
 * rolls everything back and Stripe delivers the event again. The payments module already holds
 * the order's row lock.
 */
@Injectable()
export class PaymentOutcomeListener {
  constructor(private readonly em: EntityManager) {}

  @OnEvent(CheckoutStartedEvent.eventName, { suppressErrors: false })
  async reopenOrder(event: CheckoutStartedEvent): Promise<void> {
    (await this.order(event.orderId)).startCheckout(event.source, event.occurredAt);
  }

  @OnEvent(PaymentProcessingEvent.eventName, { suppressErrors: false })
  async markOrderProcessing(event: PaymentProcessingEvent): Promise<void> {
    (await this.order(event.orderId)).markProcessing(REASONS.processing, event.source, event.occurredAt);
  }

  @OnEvent(PaymentSucceededEvent.eventName, { suppressErrors: false })
  async markOrderPaid(event: PaymentSucceededEvent): Promise<void> {
    const order = await this.order(event.orderId);
    // The payments module checked the amount; an order is never paid for a sum it does not cost.
    if (order.total.amount !== event.amount || order.total.currency !== event.currency) {
      throw new Error(`Payment of ${event.amount} ${event.currency} does not match order ${order.id}`);
    }
    order.markPaid(REASONS.paid, event.source, event.occurredAt);
  }

  @OnEvent(PaymentFailedEvent.eventName, { suppressErrors: false })
  async markOrderFailed(event: PaymentFailedEvent): Promise<void> {
    (await this.order(event.orderId)).markFailed(event.reason, event.source, event.occurredAt);
  }

  @OnEvent(PaymentNeedsReviewEvent.eventName, { suppressErrors: false })
  async flagOrderForReview(event: PaymentNeedsReviewEvent): Promise<void> {
    (await this.order(event.orderId)).flagForReview(event.reason, event.source, event.occurredAt);
  }

  @OnEvent(PaymentReportNotedEvent.eventName, { suppressErrors: false })
  async noteReport(event: PaymentReportNotedEvent): Promise<void> {
    (await this.order(event.orderId)).noteIgnoredReport(event.description, event.source, event.occurredAt);
  }

  private order(id: string): Promise<Order> {
    if (!this.em.isInTransaction())
      throw new Error('Payment outcomes are applied inside the payments transaction');
    return this.em.findOneOrFail(Order, id);
  }
}
