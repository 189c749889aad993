import { DomainError } from '../shared/domain-error';

/** Stripe did not answer, answered with an error, or timed out. The order stays payable. */
export class PaymentProviderError extends DomainError {
  readonly code = 'PAYMENTS.PROVIDER_UNAVAILABLE';
  readonly kind = 'bad_gateway';
  constructor(message = 'The payment provider could not be reached; please try again') {
    super(message);
  }
}

/** The provider refused a session expiry because the session is no longer open. */
export class CheckoutNotOpenError extends PaymentProviderError {
  constructor() {
    super('The checkout session is no longer open');
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
