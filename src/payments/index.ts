export * from './events';
export { OpenCheckouts } from './open-checkouts';
export {
  type CustomerOrderInStatement,
  type LockedOrder,
  OrderAccess,
  type OrderInStatement,
  type PayableOrder,
  type PaymentOutcomeEvent,
} from './order-access.port';
export { PaymentsModule } from './payments.module';
export {
  type AttemptSnapshot,
  type DisputeSnapshot,
  type LedgerSnapshot,
  PaymentsAdmin,
  type RefundSnapshot,
  type ReplaySnapshot,
  type ReviewSnapshot,
} from './payments-admin';
// The webhook's route and the checkout's are served ahead of Express, by the application's set-up
// (app.setup.ts, app.direct-routes.ts).
export { StripeWebhookController } from './stripe/stripe-webhook.controller';
export { CheckoutController } from './checkout.controller';
export { ReviewKind } from './review/review-item.entity';
export type { RefundCommand } from './refunds/refunds.service';
