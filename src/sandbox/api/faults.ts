/**
 * Fault switches (`/_sandbox/faults`): make the next calls of one API operation fail the ways a
 * network and Stripe fail, for tests and for shops rehearsing an outage.
 *
 * - `status`: the endpoint runs into an error and answers `status` with a Stripe error body, doing
 *   no work. It is an answered error: saved under the request's Idempotency-Key and replayed (except
 *   429, which Stripe answers before the endpoint runs, so it saves nothing).
 * - `timeout`: the request is lost on the network before Stripe sees it (a replay under its key
 *   included): no work, nothing saved, and no answer until the client gives up (or {@link HANG_LIMIT_MS} passes, then the connection is closed).
 * - `drop_response`: the endpoint does the work and saves its result under the key, then the
 *   connection is closed without an answer; a retry with the same key gets the saved result.
 * - `slow`: the endpoint takes `seconds` (real time) before it does the work and answers; its
 *   idempotency key is held meanwhile (another request with it gets 409 `idempotency_key_in_use`).
 *
 * Operations are named as the stripe SDK names them (`checkout.sessions.create`,
 * `checkout.sessions.expire`, `paymentIntents.retrieve`, …); the API router registers each
 * operation it serves, so an unknown one is refused. Faults live in memory only.
 */
export type FaultKind = 'status' | 'timeout' | 'drop_response' | 'slow';

export interface Fault {
  operation: string;
  fault: FaultKind;
  /** For `status`: the HTTP status answered (400–599). */
  status?: number;
  /** For `slow`: how long the endpoint takes, in seconds. */
  seconds?: number;
  /** How many more calls of the operation it applies to. */
  remaining: number;
}

/** How long a `timeout` fault holds a request whose client has not given up. */
export const HANG_LIMIT_MS = 10 * 60 * 1000;

const KINDS: readonly FaultKind[] = ['status', 'timeout', 'drop_response', 'slow'];

/** Bad input to `POST /_sandbox/faults`: the parameter and what is wrong with it. */
export class FaultInputError extends Error {
  constructor(
    readonly param: string,
    message: string,
  ) {
    super(message);
  }
}

export class FaultSwitches {
  /** The operations the API serves (registered by the API router as it declares its routes). */
  private readonly operations = new Set<string>();
  private faults: Fault[] = [];

  register(operation: string): void {
    this.operations.add(operation);
  }

  knownOperations(): string[] {
    return [...this.operations].sort();
  }

  /** Validates and adds a fault from `{operation, fault, status?, seconds?, count?}` (count defaults to 1). */
  add(input: Record<string, unknown>): Fault {
    const allowed = new Set(['operation', 'fault', 'status', 'seconds', 'count']);
    const unknown = Object.keys(input).find((key) => !allowed.has(key));
    if (unknown) throw new FaultInputError(unknown, `Received unknown parameter: ${unknown}`);
    const { operation, fault } = input;
    if (typeof operation !== 'string' || !this.operations.has(operation)) {
      throw new FaultInputError(
        'operation',
        `operation must be one of the sandbox's operations (${this.knownOperations().join(', ')}); got ${JSON.stringify(operation ?? null)}`,
      );
    }
    if (typeof fault !== 'string' || !KINDS.includes(fault as FaultKind)) {
      throw new FaultInputError(
        'fault',
        `fault must be one of ${KINDS.join(', ')}; got ${JSON.stringify(fault ?? null)}`,
      );
    }
    const count = input.count === undefined ? 1 : Number(input.count);
    if (!Number.isInteger(count) || count < 1 || count > 1000) {
      throw new FaultInputError('count', 'count must be an integer from 1 to 1000');
    }
    let status: number | undefined;
    if (fault === 'status') {
      status = Number(input.status);
      if (!Number.isInteger(status) || status < 400 || status > 599) {
        throw new FaultInputError('status', 'status must be an HTTP error status from 400 to 599');
      }
    } else if (input.status !== undefined) {
      throw new FaultInputError('status', `status applies only to fault "status", not "${fault}"`);
    }
    let seconds: number | undefined;
    if (fault === 'slow') {
      seconds = Number(input.seconds);
      if (!Number.isFinite(seconds) || seconds <= 0 || seconds > 600) {
        throw new FaultInputError('seconds', 'seconds must be a number above 0 and at most 600');
      }
    } else if (input.seconds !== undefined) {
      throw new FaultInputError('seconds', `seconds applies only to fault "slow", not "${fault}"`);
    }
    const added: Fault = {
      operation,
      fault: fault as FaultKind,
      ...(status === undefined ? {} : { status }),
      ...(seconds === undefined ? {} : { seconds }),
      remaining: count,
    };
    this.faults.push(added);
    return added;
  }

  /** The fault the next call of `operation` meets, if any (faults of one operation apply in order). */
  /** The fault the next call of `operation` would meet, without using it up. */
  peek(operation: string): Fault | undefined {
    const fault = this.faults.find((f) => f.operation === operation);
    return fault && { ...fault };
  }

  take(operation: string): Fault | undefined {
    const index = this.faults.findIndex((f) => f.operation === operation);
    if (index < 0) return undefined;
    const fault = this.faults[index];
    fault.remaining -= 1;
    if (fault.remaining <= 0) this.faults.splice(index, 1);
    return { ...fault };
  }

  list(): Fault[] {
    return this.faults.map((fault) => ({ ...fault }));
  }

  clear(): void {
    this.faults = [];
  }
}
