import { DomainError } from '../domain-error';

export class IdempotencyKeyInvalidError extends DomainError {
  readonly code = 'REQUEST.INVALID';
  readonly kind = 'bad_request';

  constructor() {
    super('Idempotency-Key must be 1 to 255 printable ASCII characters', 'Idempotency-Key');
  }
}

/** The key was used before with another body (Stripe: the same key means the same request). */
export class IdempotencyKeyReusedError extends DomainError {
  readonly code = 'IDEMPOTENCY.KEY_REUSED';
  readonly kind = 'unprocessable';

  constructor() {
    super('This Idempotency-Key was used with another request body', 'Idempotency-Key');
  }
}

/** The first request with this key is still being processed. */
export class IdempotencyKeyInFlightError extends DomainError {
  readonly code = 'IDEMPOTENCY.IN_FLIGHT';
  readonly kind = 'conflict';

  constructor() {
    super('A request with this Idempotency-Key is still being processed; retry later', 'Idempotency-Key');
  }
}

/**
 * The first request with this key took effect but its process stopped before it could answer: its
 * response is lost, and running it again would do it twice.
 */
export class IdempotencyOutcomeLostError extends DomainError {
  readonly code = 'IDEMPOTENCY.OUTCOME_LOST';
  readonly kind = 'conflict';

  constructor() {
    super(
      'The request with this Idempotency-Key took effect, but its response was lost; do not repeat it',
      'Idempotency-Key',
    );
  }
}
