import { DomainError } from '../shared/domain-error';

/**
 * Stripe did not answer (timeout, connection reset) or the same request is still in flight: the
 * outcome is unknown. The attempt keeps its idempotency key, so a retry reaches what Stripe did.
 */
export class PaymentProviderUnavailableError extends DomainError {
  readonly code = 'PAYMENTS.PROVIDER_UNAVAILABLE';
  readonly kind = 'bad_gateway';
  constructor(message = 'The payment provider could not be reached; please try again') {
    super(message);
  }
}

/**
 * Stripe answered with an error. It keeps that answer under the idempotency key and replays it for
 * 24 hours, so the attempt is over: the next try opens a new attempt with a new key.
 */
export class PaymentProviderRefusedError extends DomainError {
  readonly code = 'PAYMENTS.PROVIDER_REFUSED';
  readonly kind = 'bad_gateway';
  constructor(
    readonly statusCode: number,
    /** Stripe's own message: for logs and staff, not for the customer. */
    readonly providerMessage: string,
  ) {
    super('The payment provider could not open a checkout; please try again');
  }
}

/** The provider refused a session expiry because the session is no longer open. */
export class CheckoutNotOpenError extends DomainError {
  readonly code = 'PAYMENTS.CHECKOUT_NOT_OPEN';
  readonly kind = 'conflict';
  constructor() {
    super('The checkout session is no longer open');
  }
}

/** The provider does not know the session (404). */
export class CheckoutSessionNotFoundError extends DomainError {
  readonly code = 'PAYMENTS.PROVIDER_SESSION_NOT_FOUND';
  readonly kind = 'bad_gateway';
  constructor() {
    super('The payment provider does not know this checkout session');
  }
}

/** The order is paid, being settled or canceled. Clients see the orders module's code for it. */
export class CheckoutNotAllowedError extends DomainError {
  readonly code = 'ORDERS.NOT_PAYABLE';
  readonly kind = 'conflict';
  constructor(status: string) {
    super(`The order is ${status} and cannot be paid`);
  }
}

export class UnknownCheckoutSessionError extends DomainError {
  readonly code = 'PAYMENTS.UNKNOWN_SESSION';
  readonly kind = 'not_found';
  constructor() {
    super('No such checkout session for this order', 'sessionId');
  }
}

/** A webhook whose signature is missing, malformed, stale or wrong: answered 400, nothing written. */
export class WebhookSignatureError extends DomainError {
  readonly code = 'PAYMENTS.INVALID_SIGNATURE';
  readonly kind = 'bad_request';
}

/** The provider answered a refund request with a refusal (already refunded, amount too large, …). */
export class RefundDeclinedError extends DomainError {
  readonly code = 'REFUNDS.DECLINED';
  readonly kind = 'unprocessable';
}

/** The provider knows no such event (replay of an id it never sent, or older than it keeps). */
export class UnknownProviderEventError extends DomainError {
  readonly code = 'WEBHOOKS.UNKNOWN_AT_PROVIDER';
  readonly kind = 'not_found';
  constructor() {
    super('The payment provider has no such event');
  }
}

/** Staff asked to refund an order that has no payment to give back. */
export class NotRefundableError extends DomainError {
  readonly code = 'REFUNDS.NOT_REFUNDABLE';
  readonly kind = 'conflict';
  constructor(message = 'The order has no payment to refund') {
    super(message);
  }
}

/** More than what is left to give back: refused before anything is asked of Stripe. */
export class RefundExceedsPaymentError extends DomainError {
  readonly code = 'REFUNDS.EXCEEDS_PAID';
  readonly kind = 'unprocessable';
  constructor(left: string) {
    super(`At most ${left} can be refunded`, 'amount');
  }
}

/** The same `Idempotency-Key` was used for a different refund. */
export class RefundKeyReusedError extends DomainError {
  readonly code = 'REFUNDS.KEY_REUSED';
  readonly kind = 'unprocessable';
  constructor() {
    super('This Idempotency-Key was used for a different refund of this order');
  }
}

export class PaymentsOrderNotFoundError extends DomainError {
  readonly code = 'ORDERS.NOT_FOUND';
  readonly kind = 'not_found';
  constructor() {
    super('Order not found');
  }
}

export class LedgerEventNotFoundError extends DomainError {
  readonly code = 'WEBHOOKS.NOT_FOUND';
  readonly kind = 'not_found';
  constructor() {
    super('No such event in the webhook ledger');
  }
}

/** Its delivery took effect (applied, or flagged as a mismatch): applying it again could do it twice. */
export class EventNotReplayableError extends DomainError {
  readonly code = 'WEBHOOKS.NOT_REPLAYABLE';
  readonly kind = 'conflict';
  constructor(outcome: string) {
    super(
      `The event was ${outcome} when delivered; only unmatched, ignored or malformed events are replayed`,
    );
  }
}

/** A signed webhook whose body is not JSON: refused, nothing written. */
export class WebhookContentTypeError extends DomainError {
  readonly code = 'PAYMENTS.UNSUPPORTED_WEBHOOK_BODY';
  readonly kind = 'bad_request';
  constructor() {
    super('Expected a JSON body (Content-Type: application/json) signed by Stripe');
  }
}

/**
 * An authentic event from the other mode (a live event at a test-mode service, or the reverse):
 * refused, nothing applied. It means a misconfigured endpoint, never a payment of ours.
 */
export class WebhookLivemodeMismatchError extends DomainError {
  readonly code = 'PAYMENTS.LIVEMODE_MISMATCH';
  readonly kind = 'bad_request';
  constructor(expected: boolean) {
    super(`This service takes ${expected ? 'live' : 'test'}-mode events only`);
  }
}

export class ReviewAlreadyResolvedError extends DomainError {
  readonly code = 'REVIEWS.ALREADY_RESOLVED';
  readonly kind = 'conflict';
  constructor() {
    super('This review item is already resolved');
  }
}
