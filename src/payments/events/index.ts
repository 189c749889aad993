export { CheckoutCloseRequestedEvent } from './checkout-close-requested.event';
export { CheckoutStartedEvent } from './checkout-started.event';
export { PaymentFailedEvent } from './payment-failed.event';
export { PaymentNeedsReviewEvent } from './payment-needs-review.event';
export { PaymentReportNotedEvent } from './payment-report-noted.event';
export { PaymentProcessingEvent } from './payment-processing.event';
export { PaymentSucceededEvent } from './payment-succeeded.event';
