import { createHash } from 'node:crypto';
import { applyDecorators, Injectable, Logger, SetMetadata } from '@nestjs/common';
import { ApiHeader } from '@nestjs/swagger';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { NextFunction } from 'express';
import { jsonAnswerOf } from '../direct-route';
import { bearerTokenOf } from '../http';
import {
  IdempotencyKeyInFlightError,
  IdempotencyKeyInvalidError,
  IdempotencyKeyReusedError,
  IdempotencyOutcomeLostError,
} from './idempotency.errors';
import { type IdempotentRequest, idempotentRequest } from './idempotency.context';
import { IdempotencyStore } from './idempotency.store';

/** The metadata `@Idempotent()` leaves on a route handler (or a controller), read by `IdempotencyModule`. */
export const IDEMPOTENT = 'idempotency:options';
const KEY = /^[\x21-\x7e]{1,255}$/;

export interface IdempotentOptions {
  /**
   * The operation may run again after a crash that left its outcome unknown (it is idempotent in
   * itself, like a checkout that reuses its session or a cancellation). Otherwise such a retry is
   * refused (409 IDEMPOTENCY.OUTCOME_LOST) rather than done twice.
   */
  safeToRepeat?: boolean;
}

/**
 * `Idempotency-Key` with Stripe's semantics on this route: the same key and body replay the first
 * response (status and body, `Idempotent-Replayed: true`) with no second effect; another body is a
 * 422; a request whose key is still in flight is a 409. Keys are scoped to the route (method, path
 * and its parameters) and the caller (the bearer token), and kept at least 24 hours. Requests the
 * service refused before acting (400, 429) or that failed on its side with nothing done (5xx) are not
 * kept: the same key may be used again.
 *
 * The route gets `IdempotencyMiddleware` in front of it (`IdempotencyModule` finds the marked
 * routes at start-up), not an interceptor: Nest runs every request of a route with an interceptor
 * through an RxJS pipeline and binds two async resources for it, about a fifth of the CPU of
 * placing an order, even when the request carries no key.
 */
export function Idempotent(options: IdempotentOptions = {}): MethodDecorator & ClassDecorator {
  return applyDecorators(
    SetMetadata(IDEMPOTENT, options),
    ApiHeader({
      name: 'Idempotency-Key',
      required: false,
      description:
        'A unique key per intended operation (e.g. a UUID): a retry with the same key and body gets the first response again',
    }),
  );
}

/**
 * The request as the middleware reads it: Express's, or Node's own as a route served ahead of
 * Express gives it (`serveAhead` sets `params` and `route` as Express would).
 */
type KeyedRequest = IncomingMessage & {
  body?: unknown;
  params?: Record<string, string>;
  route?: { path?: string };
};

/** The response: Express's (`res.json`), or Node's own, answered as `res.json` answers. */
type KeyedResponse = ServerResponse & { json?: (body: unknown) => unknown };

/** Express middleware of one idempotent route, in front of its handler (`IdempotencyModule`). */
@Injectable()
export class IdempotencyMiddleware {
  private readonly logger = new Logger('Idempotency');

  constructor(private readonly store: IdempotencyStore) {}

  /** The middleware of a route with these options. A request without a key passes straight on. */
  for(
    options: IdempotentOptions,
  ): (request: KeyedRequest, response: KeyedResponse, next: NextFunction) => Promise<void> {
    return async (request, response, next) => {
      const key = request.headers['idempotency-key'];
      if (key === undefined) return next();
      if (typeof key !== 'string' || !KEY.test(key)) throw new IdempotencyKeyInvalidError();
      const keyHash = IdempotencyStore.keyHash(scopeOf(request), key);
      const requestHash = sha256(canonicalJson(request.body));
      const claim = await this.store.claim(keyHash, requestHash, options.safeToRepeat ?? false);
      switch (claim.kind) {
        case 'mismatch':
          throw new IdempotencyKeyReusedError();
        case 'in_flight':
          throw new IdempotencyKeyInFlightError();
        case 'lost':
          throw new IdempotencyOutcomeLostError();
        case 'replay': {
          const body = IdempotencyStore.open(key, keyHash, claim.response.body as Buffer);
          response.setHeader('Idempotent-Replayed', 'true');
          response.statusCode = claim.response.status;
          return jsonAnswerOf(response)(body);
        }
        case 'proceed':
          return this.proceed(response, next, key, keyHash, options);
      }
    };
  }

  /** Runs the route, and keeps (or releases) the key with the response before it is sent. */
  private proceed(
    response: KeyedResponse,
    next: NextFunction,
    key: string,
    keyHash: string,
    options: IdempotentOptions,
  ): void {
    const state: IdempotentRequest = { keyHash, effectCommitted: false };
    const send = jsonAnswerOf(response);
    // Every answer of the route goes through `res.json`: the handler's (Nest's reply) and every
    // refusal's (the global filter), including a guard's (429) or a pipe's (400).
    response.json = (body: unknown) => {
      const status = response.statusCode;
      // A failure on our side is kept only if something already took effect that must not run twice.
      const keep =
        status < 500 ? status !== 400 && status !== 429 : state.effectCommitted && !options.safeToRepeat;
      const settled = keep
        ? this.store.complete(keyHash, key, { status, body })
        : this.store.release(keyHash);
      settled
        .catch((error: unknown) =>
          this.logger.error({ err: (error as Error).message }, 'Could not keep an idempotent response'),
        )
        .finally(() => send(body));
      return response;
    };
    // The route runs within `next()`: its transactions see the request (the effect's mark).
    idempotentRequest.run(state, next);
  }
}

/** Route, its parameters and the caller: the same key elsewhere or from someone else is another key. */
function scopeOf(request: KeyedRequest): string {
  const route = request.route?.path ?? (request as { path?: string }).path;
  const bearer = bearerTokenOf(request.headers.authorization);
  return [request.method, route, canonicalJson(request.params), bearer ? sha256(bearer) : '-'].join(' ');
}

function sha256(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

/** JSON with object keys sorted: the same body however its fields were ordered. */
export function canonicalJson(value: unknown): string {
  if (value === undefined) return '';
  return JSON.stringify(value, (_key, inner: unknown) =>
    inner && typeof inner === 'object' && !Array.isArray(inner)
      ? Object.fromEntries(
          Object.entries(inner as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
        )
      : inner,
  );
}
