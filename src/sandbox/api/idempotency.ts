import type { Collection, IdempotencyRecord } from '../sandbox.store';
import { StripeApiError } from '../stripe/stripe-error';

/**
 * A saved result: `endpoint` (`POST /v1/checkout/sessions`) and `fingerprint` (the parameters,
 * normalized) are what a key is bound to.
 */
export type StoredResponse = IdempotencyRecord;

/** Stripe keeps idempotency keys for at least 24 hours. */
export const IDEMPOTENCY_RETENTION_MS = 24 * 60 * 60 * 1000;

export type IdempotencyStart =
  | { kind: 'replay'; response: StoredResponse }
  /** The caller runs the request, then calls `finish` (result saved) or `release` (nothing saved). */
  | { kind: 'run' };

/**
 * Stripe's idempotent requests. Once an endpoint has started executing, its result (success or
 * error, 500s included) is saved under the key and replayed for 24 hours to requests with the same
 * endpoint and parameters; other parameters or another endpoint under that key are refused with
 * 400 `idempotency_error`. While a request with a key executes, another request with that key gets
 * 409 `idempotency_key_in_use`. A request refused by parameter validation, or one that never reached
 * the endpoint, keeps no result, so the key can be used again.
 */
export class IdempotencyStore {
  private readonly executing = new Set<string>();

  constructor(
    private readonly now: () => number,
    /** Saved results by key: a collection of the store, so they survive a restart. */
    private readonly responses: Collection<IdempotencyRecord>,
  ) {}

  /** Drops results older than the retention (at start). */
  prune(): void {
    for (const stored of [...this.responses.values()]) {
      if (this.now() - stored.savedAt > IDEMPOTENCY_RETENTION_MS) this.responses.delete(stored.id);
    }
  }

  /** Replay, or run (the key is then held until `finish` or `release`); throws 400/409 as Stripe does. */
  start(key: string, endpoint: string, fingerprint: string): IdempotencyStart {
    if (this.executing.has(key)) {
      throw new StripeApiError(409, {
        type: 'idempotency_error',
        code: 'idempotency_key_in_use',
        doc_url: 'https://stripe.com/docs/error-codes/idempotency-key-in-use',
        message:
          'There is currently another in-progress request using this Idempotent Key (that probably means ' +
          `you submitted twice, and the other request is still going through): ${key}. Please try again later.`,
      });
    }
    const stored = this.responses.get(key);
    if (stored && this.now() - stored.savedAt > IDEMPOTENCY_RETENTION_MS) this.responses.delete(key);
    else if (stored) {
      if (stored.endpoint !== endpoint) {
        throw mismatch(
          `Keys for idempotent requests can only be used for the same endpoint they were first used for ` +
            `('${stored.endpoint}' vs '${endpoint}'). Try using a key other than '${key}' if you meant to execute a different request.`,
        );
      }
      if (stored.fingerprint !== fingerprint) {
        throw mismatch(
          'Keys for idempotent requests can only be used with the same parameters they were first used with. ' +
            `Try using a key other than '${key}' if you meant to execute a different request.`,
        );
      }
      return { kind: 'replay', response: stored };
    }
    this.executing.add(key);
    return { kind: 'run' };
  }

  /**
   * Saves the result of a request that ran and frees the key. The result is written with the store's
   * next flush, which the router awaits before it answers.
   */
  finish(key: string, response: Omit<StoredResponse, 'id' | 'savedAt'>): void {
    this.responses.set(key, { id: key, ...response, savedAt: this.now() });
    this.executing.delete(key);
  }

  /** Frees the key without a result (refused by validation, or never ran). */
  release(key: string): void {
    this.executing.delete(key);
  }
}

function mismatch(message: string): StripeApiError {
  return new StripeApiError(400, { type: 'idempotency_error', message });
}
