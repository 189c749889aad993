export { CheckoutStartedEvent } from './checkout-started.event';
export { PaymentFailedEvent } from './payment-failed.event';
export { PaymentNeedsReviewEvent } from './payment-needs-review.event';
export { PaymentNewsIgnoredEvent } from './payment-news-ignored.event';
export { PaymentProcessingEvent } from './payment-processing.event';
export { PaymentSucceededEvent } from './payment-succeeded.event';
export { DisputeChangedEvent } from './dispute-changed.event';
export { RefundsChangedEvent } from './refunds-changed.event';
