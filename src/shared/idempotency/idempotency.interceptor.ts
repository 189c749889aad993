import { createHash } from 'node:crypto';
import {
  applyDecorators,
  type CallHandler,
  type ExecutionContext,
  Injectable,
  Logger,
  type NestInterceptor,
  SetMetadata,
  UseInterceptors,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { ApiHeader } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { from, mergeMap, Observable, of } from 'rxjs';
import {
  IdempotencyKeyInFlightError,
  IdempotencyKeyInvalidError,
  IdempotencyKeyReusedError,
  IdempotencyOutcomeLostError,
} from './idempotency.errors';
import { type IdempotentRequest, idempotentRequest } from './idempotency.context';
import { IdempotencyStore } from './idempotency.store';

const IDEMPOTENT = 'idempotency:options';
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
 */
export function Idempotent(options: IdempotentOptions = {}): MethodDecorator & ClassDecorator {
  return applyDecorators(
    SetMetadata(IDEMPOTENT, options),
    UseInterceptors(IdempotencyInterceptor),
    ApiHeader({
      name: 'Idempotency-Key',
      required: false,
      description:
        'A unique key per intended operation (e.g. a UUID): a retry with the same key and body gets the first response again',
    }),
  );
}

@Injectable()
export class IdempotencyInterceptor implements NestInterceptor {
  private readonly logger = new Logger('Idempotency');

  constructor(
    private readonly store: IdempotencyStore,
    private readonly reflector: Reflector,
  ) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const http = context.switchToHttp();
    const request = http.getRequest<Request>();
    const response = http.getResponse<Response>();
    const key = request.headers['idempotency-key'];
    if (key === undefined) return next.handle();
    if (typeof key !== 'string' || !KEY.test(key)) throw new IdempotencyKeyInvalidError();
    const options = this.reflector.get<IdempotentOptions | undefined>(IDEMPOTENT, context.getHandler()) ?? {};
    const keyHash = IdempotencyStore.keyHash(scopeOf(request), key);
    const requestHash = sha256(canonicalJson(request.body));

    return from(this.store.claim(keyHash, requestHash, options.safeToRepeat ?? false)).pipe(
      mergeMap((claim) => {
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
            response.status(claim.response.status);
            // Nest sets the route's own status (201) before sending: the replayed one must win.
            response.status = () => response;
            return of(body);
          }
          case 'proceed':
            return this.proceed(next, response, key, keyHash, options);
        }
      }),
    );
  }

  /** Runs the handler, and keeps (or releases) the key with the response before it is sent. */
  private proceed(
    next: CallHandler,
    response: Response,
    key: string,
    keyHash: string,
    options: IdempotentOptions,
  ): Observable<unknown> {
    const state: IdempotentRequest = { keyHash, effectCommitted: false };
    const send = response.json.bind(response);
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
    return new Observable((subscriber) =>
      idempotentRequest.run(state, () => next.handle().subscribe(subscriber)),
    );
  }
}

/** Route, its parameters and the caller: the same key elsewhere or from someone else is another key. */
function scopeOf(request: Request): string {
  const route = (request.route as { path?: string } | undefined)?.path ?? request.path;
  const bearer = /^Bearer\s+(\S+)\s*$/i.exec(request.headers.authorization ?? '')?.[1];
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
