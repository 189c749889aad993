import type { Money } from '../shared/money';

/** What we ask the payment provider for: a hosted checkout for one order, in our own terms. */
export interface CheckoutRequest {
  orderId: string;
  /** Our checkout attempt: tagged on the session and its payment, so that Stripe's reports find their attempt. */
  attemptId: string;
  customerEmail: string;
  lineItems: { name: string; unitPrice: Money; quantity: number }[];
  successUrl: string;
  cancelUrl: string;
  expiresAt: Date;
}

export type CheckoutStatus = 'open' | 'complete' | 'expired';
export type CheckoutPaymentStatus = 'paid' | 'unpaid' | 'no_payment_required';

/** A Checkout Session as the provider reports it. */
export interface CheckoutSession {
  id: string;
  /** The hosted page; null once the session is complete or expired. */
  url: string | null;
  status: CheckoutStatus;
  paymentStatus: CheckoutPaymentStatus;
  /** The total the customer is asked for (null only if the provider did not say). */
  amount: Money | null;
  /** Our order id as we tagged the session (metadata.orderId, else client_reference_id). */
  orderId: string | null;
  /** Our checkout attempt as we tagged the session (metadata.attemptId). */
  attemptId: string | null;
  paymentIntentId: string | null;
  expiresAt: Date;
  /**
   * For a complete but unpaid session (delayed method): how settlement stands, when the provider
   * told us (retrieval with the payment expanded).
   */
  settlement?: { state: 'pending' } | { state: 'succeeded' } | { state: 'failed'; reason: string };
}

export type RefundStatus = 'pending' | 'requires_action' | 'succeeded' | 'failed' | 'canceled';

/** What we ask the provider to give back: part or all of one payment. */
export interface RefundRequest {
  paymentIntentId: string;
  amount: Money;
  /** Our order and refund ids, sent as metadata so that the provider's events lead back to them. */
  orderId: string;
  refundId: string;
}

/** A refund as the provider reports it. */
export interface RefundInfo {
  id: string;
  status: RefundStatus;
  amount: Money | null;
  paymentIntentId: string | null;
  chargeId: string | null;
  /** From our metadata, when we asked for the refund. */
  orderId: string | null;
  refundId: string | null;
  /** Why it failed (`expired_or_canceled_card`, …), when it did. */
  failureReason: string | null;
}

export type DisputeStatus =
  | 'warning_needs_response'
  | 'warning_under_review'
  | 'warning_closed'
  | 'needs_response'
  | 'under_review'
  | 'won'
  | 'lost';

/** A dispute (chargeback) as the provider reports it. */
export interface DisputeInfo {
  id: string;
  status: DisputeStatus;
  amount: Money | null;
  /** `fraudulent`, `product_not_received`, … */
  reason: string;
  paymentIntentId: string | null;
  chargeId: string | null;
  evidenceDueBy: Date | null;
}

/**
 * A verified webhook event, translated into what it means for a payment. `providerType` is Stripe's
 * own event type (`checkout.session.completed`); `livemode` is null only for an unreadable event.
 * `malformed`: authentic (the signature holds) but not an event we can read; kept for staff with
 * its raw payload, under a ledger id derived from its bytes when it has no usable id of its own.
 */
export type PaymentEvent = { id: string; providerType: string; occurredAt: Date; livemode: boolean | null } & (
  | { type: 'checkout.completed' | 'checkout.async_succeeded' | 'checkout.async_failed' | 'checkout.expired'; session: CheckoutSession }
  | {
      type: 'payment.declined';
      paymentIntentId: string;
      orderId: string | null;
      attemptId: string | null;
      amount: Money | null;
      code: string | null;
      declineCode: string | null;
      message: string;
    }
  | { type: 'refund.updated'; refund: RefundInfo }
  | { type: 'charge.refunded'; chargeId: string; paymentIntentId: string | null; amountRefunded: Money | null; refunds: RefundInfo[] }
  | { type: 'dispute.updated'; dispute: DisputeInfo }
  | { type: 'unsupported' }
  | { type: 'malformed'; problem: string; payload: string }
); // prettier-ignore

/**
 * The payment provider, as the payments module needs it. Abstract class, so it is also the DI
 * token; bound to `StripePaymentGateway` in PaymentsModule.
 *
 * Errors: `PaymentProviderUnavailableError` when the outcome is unknown (no answer, or the same key
 * still in flight: retry with the same key); `PaymentProviderRefusedError` when the provider
 * answered with an error (stored under the key and replayed by the provider: a retry needs a new
 * key); `CheckoutSessionNotFoundError` for a session the provider does not know.
 */
export abstract class PaymentGateway {
  /** Creates a session, or returns the one an earlier call with the same key created. */
  abstract createCheckout(request: CheckoutRequest, idempotencyKey: string): Promise<CheckoutSession>;
  abstract retrieveCheckout(sessionId: string): Promise<CheckoutSession>;
  /** Closes an open session so that it can no longer be paid; `CheckoutNotOpenError` if it is not open. */
  abstract expireCheckout(sessionId: string): Promise<CheckoutSession>;
  /**
   * Gives back part or all of a payment; the same key returns the refund an earlier call made. Throws
   * `RefundDeclinedError` when the provider answered no, `PaymentProviderError` when it did not answer.
   */
  abstract createRefund(request: RefundRequest, idempotencyKey: string): Promise<RefundInfo>;
  /** An event as the provider keeps it (`GET /v1/events/:id`), read as a webhook is. */
  abstract retrieveEvent(eventId: string): Promise<PaymentEvent>;
  /** Checks the signature over the exact bytes received, then parses. Throws if not authentic. */
  abstract verifyWebhook(rawBody: Buffer, signatureHeader: string | undefined): PaymentEvent;
}
