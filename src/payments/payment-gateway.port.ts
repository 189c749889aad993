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
  /** Checks the signature over the exact bytes received, then parses. Throws if not authentic. */
  abstract verifyWebhook(rawBody: Buffer, signatureHeader: string | undefined): PaymentEvent;
}
