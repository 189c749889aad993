import { StripeApiError } from '../stripe/stripe-error';

interface StoredResponse {
  fingerprint: string;
  statusCode: number;
  body: unknown;
  savedAt: number;
}

/** Stripe keeps idempotency keys for at least 24 hours. */
const RETENTION_MS = 24 * 60 * 60 * 1000;

/**
 * Stripe's idempotent requests: the first response under a key is saved and replayed for the same
 * parameters; other parameters under that key are refused with an `idempotency_error`.
 */
export class IdempotencyStore {
  private readonly responses = new Map<string, StoredResponse>();

  constructor(private readonly now: () => number) {}

  /** The saved response to replay, or undefined for a new key; throws on a parameter mismatch. */
  replay(key: string, fingerprint: string): StoredResponse | undefined {
    const stored = this.responses.get(key);
    if (!stored) return undefined;
    if (this.now() - stored.savedAt > RETENTION_MS) {
      this.responses.delete(key);
      return undefined;
    }
    if (stored.fingerprint !== fingerprint) {
      throw new StripeApiError(400, {
        type: 'idempotency_error',
        message:
          'Keys for idempotent requests can only be used with the same parameters they were first used with. ' +
          `Try using a key other than '${key}' if you meant to execute a different request.`,
      });
    }
    return stored;
  }

  save(key: string, fingerprint: string, statusCode: number, body: unknown): void {
    this.responses.set(key, { fingerprint, statusCode, body, savedAt: this.now() });
  }
}
