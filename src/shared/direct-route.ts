import type { ExceptionFilter } from '@nestjs/common';
import { ExecutionContextHost } from '@nestjs/core/helpers/execution-context-host';
import type { NextFunction, Request, Response } from 'express';

export type Middleware = (request: Request, response: Response, next: NextFunction) => void;
export type ErrorMiddleware = (
  error: unknown,
  request: Request,
  response: Response,
  next: NextFunction,
) => void;

export interface DirectRoute {
  method: 'POST';
  /** As requested, under the global prefix (`/api/webhooks/stripe`). */
  url: string;
  /**
   * What runs before the handler, in order, as Express would run it: an error skips the rest and
   * goes through `onError`, then the filter. The route's own share of the global middleware
   * (body reading, CORS, the request log) goes here, in the places it has in the global chain.
   */
  before: Middleware[];
  /** Express error middleware that map the errors of `before` (body-parser's refusals). */
  onError: ErrorMiddleware[];
  /** The handler: resolves to the JSON body of a `status` answer, or throws for the filter. */
  handle: (request: Request) => Promise<unknown>;
  status: number;
  /** The application's global exception filter: errors get the answer every other route gives. */
  filter: ExceptionFilter;
}

/**
 * One route served ahead of Express's router and Nest's route pipeline, for the request that is
 * sent most (Stripe's webhook): the Express middleware mounted before it still run, then the
 * route's `before` list, its handler and the global filter, as Nest would have called them; what
 * it skips is the walk past every other layer and route, and Nest's per-request execution context
 * (guards, interceptors, pipes, none of which this route has). The path matches as Express matches
 * a route: without the query string, any case, with or without a trailing slash. Any other method
 * goes on to the router.
 */
export function directRoute(route: DirectRoute): Middleware {
  const url = route.url.toLowerCase();
  const matches = (request: Request): boolean => {
    if (request.method !== route.method) return false;
    const raw = request.url;
    if (raw === route.url) return true;
    const query = raw.indexOf('?');
    const path = (query === -1 ? raw : raw.slice(0, query)).toLowerCase();
    return path === url || path === `${url}/`;
  };

  const fail = (error: unknown, request: Request, response: Response): void => {
    const host = new ExecutionContextHost([request, response, undefined]);
    try {
      route.filter.catch(error, host);
    } catch (unanswered) {
      // The filter answers every HTTP error; should it throw, Express's own handler answers 500.
      request.next?.(unanswered);
    }
  };

  const mapError = (error: unknown, request: Request, response: Response, at = 0): void => {
    if (at === route.onError.length) return fail(error, request, response);
    route.onError[at](error, request, response, (mapped?: unknown) =>
      mapError(mapped ?? error, request, response, at + 1),
    );
  };

  const answer = (request: Request, response: Response): void => {
    route.handle(request).then(
      (body) => response.status(route.status).json(body),
      (error: unknown) => fail(error, request, response),
    );
  };

  const run = (request: Request, response: Response, at: number): void => {
    if (at === route.before.length) return answer(request, response);
    try {
      route.before[at](request, response, (error?: unknown) => {
        if (error) return mapError(error, request, response);
        run(request, response, at + 1);
      });
    } catch (error) {
      // As Express does with a middleware that throws.
      mapError(error, request, response);
    }
  };

  return (request, response, next) => {
    if (!matches(request)) return next();
    run(request, response, 0);
  };
}
