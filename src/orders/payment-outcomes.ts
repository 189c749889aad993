import {
  CheckoutStartedEvent,
  PaymentFailedEvent,
  PaymentNeedsReviewEvent,
  PaymentProcessingEvent,
  PaymentReportNotedEvent,
  PaymentSucceededEvent,
} from '../payments/events';
import type { PaymentOutcomeEvent } from '../payments';
import type { Order } from './order.entity';
import { REASONS } from './order-status';

/**
 * What payments learned about a checkout attempt, applied to its order: the one place these rules
 * live, whether the order came from MikroORM's unit of work (`PaymentOutcomeListener`) or from the
 * explicit statements of the webhook and the checkout (`OrderAccess.fromRow`, `customerFromRow`). Throws to roll the transaction back.
 */
export function applyPaymentOutcome(order: Order, event: PaymentOutcomeEvent): void {
  if (order.id !== event.orderId) throw new Error(`Event for order ${event.orderId} applied to ${order.id}`);
  if (event instanceof PaymentSucceededEvent) {
    // The payments module checked the amount; an order is never paid for a sum it does not cost.
    if (order.total.amount !== event.amount || order.total.currency !== event.currency) {
      throw new Error(`Payment of ${event.amount} ${event.currency} does not match order ${order.id}`);
    }
    order.markPaid(REASONS.paid, event.source, event.occurredAt);
  } else if (event instanceof CheckoutStartedEvent) {
    // A failed order awaits payment again; one that cannot take a payment refuses (a 409).
    order.startCheckout(event.source, event.occurredAt);
  } else if (event instanceof PaymentProcessingEvent) {
    order.markProcessing(REASONS.processing, event.source, event.occurredAt);
  } else if (event instanceof PaymentFailedEvent) {
    order.markFailed(event.reason, event.source, event.occurredAt);
  } else if (event instanceof PaymentNeedsReviewEvent) {
    order.flagForReview(event.reason, event.source, event.occurredAt);
  } else if (event instanceof PaymentReportNotedEvent) {
    order.noteIgnoredReport(event.description, event.source, event.occurredAt);
  } else {
    throw new Error(`Not a payment outcome: ${(event as object).constructor.name}`);
  }
}
