import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { ExceptionFilter } from '@nestjs/common';
import { ExecutionContextHost } from '@nestjs/core/helpers/execution-context-host';
import etag from 'etag';
import type { Express, Request, Response } from 'express';
import { INTERNAL_ERROR } from './domain-error.filter';

/** A Connect-style middleware: Node's own request and response, as Express hands them on. */
export type Middleware = (
  request: IncomingMessage,
  response: ServerResponse,
  next: (error?: unknown) => void,
) => void;
export type ErrorMiddleware = (
  error: unknown,
  request: IncomingMessage,
  response: ServerResponse,
  next: (error?: unknown) => void,
) => void;

export interface DirectRoute {
  method: 'POST';
  /**
   * As requested, under the global prefix (`/api/webhooks/stripe`); a segment `:name` matches one
   * segment of the path, given to the handler decoded (`/api/orders/:id/checkout`).
   */
  url: string;
  /**
   * What runs before the handler, in order, as Express would run it: an error skips the rest and
   * goes through `onError`, then the filter. Everything the route would get from the application's
   * middleware (in-flight counting, the request id, security headers, body reading, CORS, the request
   * log) goes here, in the order the application mounts it.
   */
  before: Middleware[];
  /** Express error middleware that map the errors of `before` (body-parser's refusals). */
  onError: ErrorMiddleware[];
  /** The handler: resolves to the JSON body of a `status` answer, or throws for the filter. */
  handle: (
    request: IncomingMessage,
    params: Record<string, string>,
    response: ServerResponse,
  ) => Promise<unknown>;
  status: number;
  /** The application's global exception filter: errors get the answer every other route gives. */
  filter: ExceptionFilter;
  /** The Express application, whose request and response the filter is given on an error. */
  express: Express;
}

/**
 * One route served by the HTTP server itself, ahead of Express, for the requests that are sent most
 * (Stripe's webhook; placing an order and opening its checkout, `app.direct-routes.ts`). Express
 * would spend more on a request than the route's own middleware do: its dispatch through every
 * layer mounted before the route, its response helpers (`res.json`), and its prototypes, set on
 * Node's request and response for every request. The route's middleware run on Node's request and
 * response, as Connect-style middleware do, with `params` and `route` set as Express sets them; the
 * answer is the one `res.json` gives (JSON, UTF-8, its length and a weak ETag), through a `json` a
 * middleware put on the response if one did (the idempotency key's, to keep the answer). An error is
 * answered by the global filter, given the request and response made Express's as Express makes them.
 *
 * The path matches as Express matches a route (`matcherOf`). Any other request (another method,
 * another path) goes to the listeners the server had (Express), untouched. Installed on the server
 * before anything else wraps its listeners (Socket.IO, on `init`), which then hands this one what
 * it does not serve itself; several routes are several calls, each wrapping the one before.
 */
export function serveAhead(server: Server, route: DirectRoute): void {
  const listeners = server.listeners('request') as ((req: IncomingMessage, res: ServerResponse) => void)[];
  if (listeners.length !== 1) {
    throw new Error(
      `Expected one request listener (the application) on the HTTP server, found ${listeners.length}`,
    );
  }
  const [application] = listeners;
  const matches = matcherOf(route.url);
  /** The route's parameters if `request` is for the route, else null. */
  const paramsOf = (request: IncomingMessage): Record<string, string> | null => {
    if (request.method !== route.method) return null;
    return matches(request.url ?? '') ?? null;
  };

  const fail = (error: unknown, request: IncomingMessage, response: ServerResponse): void => {
    const [req, res] = asExpress(route.express, request, response);
    try {
      route.filter.catch(error, new ExecutionContextHost([req, res, undefined]));
    } catch {
      // The filter answers every HTTP error; should it throw, the answer is a bare 500, or, if an
      // answer had begun, the connection is cut (the client must not take half an answer for one).
      if (response.headersSent) return void response.destroy();
      response.writeHead(INTERNAL_ERROR.statusCode, { 'Content-Type': 'application/json; charset=utf-8' });
      response.end(JSON.stringify(INTERNAL_ERROR));
    }
  };

  const mapError = (error: unknown, request: IncomingMessage, response: ServerResponse, at = 0): void => {
    if (at === route.onError.length) return fail(error, request, response);
    route.onError[at](error, request, response, (mapped?: unknown) =>
      mapError(mapped ?? error, request, response, at + 1),
    );
  };

  const answer = (
    request: IncomingMessage,
    response: ServerResponse,
    params: Record<string, string>,
  ): void => {
    route
      .handle(request, params, response)
      .then((result) => {
        response.statusCode = route.status;
        // Through the `json` a middleware that must see the answer (the idempotency key's) put there.
        jsonAnswerOf(response)(result);
      })
      // The handler's error, or one writing its answer (a result that is not JSON).
      .catch((error: unknown) => fail(error, request, response));
  };

  const run = (
    request: IncomingMessage,
    response: ServerResponse,
    params: Record<string, string>,
    at: number,
  ): void => {
    if (at === route.before.length) return answer(request, response, params);
    try {
      const going = route.before[at](request, response, (error?: unknown) => {
        if (error) return mapError(error, request, response);
        run(request, response, params, at + 1);
      }) as unknown;
      // As Express 5 does with a middleware whose promise rejects.
      if (going instanceof Promise) going.catch((error: unknown) => mapError(error, request, response));
    } catch (error) {
      // As Express does with a middleware that throws.
      mapError(error, request, response);
    }
  };

  server.removeAllListeners('request');
  server.on('request', (request: IncomingMessage, response: ServerResponse) => {
    const params = paramsOf(request);
    if (!params) return void application.call(server, request, response);
    // As a route of Express's own sets them, for middleware that read them (the idempotency key's
    // scope); Node's request and response are otherwise left as they are (see `serveAhead`).
    Object.assign(request, { params, route: { path: route.url } });
    run(request, response, params, 0);
  });
}

/**
 * Whether a request's URL is for `url` as Express matches a route: without the query string, any
 * case, with or without a trailing slash; `:name` segments match one segment each, decoded. Returns
 * the parameters (a new object per request, as Express gives), or undefined. A parameter that
 * cannot be decoded does not match: Express answers it (400).
 */
export function matcherOf(url: string): (requested: string) => Record<string, string> | undefined {
  const names: string[] = [];
  const source = url
    .split('/')
    .map((segment) => {
      if (!segment.startsWith(':')) return segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      names.push(segment.slice(1));
      return '([^/]+)';
    })
    .join('/');
  const pattern = new RegExp(`^${source}/?$`, 'i');
  return (requested) => {
    // As the route is written, as clients send it: no query string to cut, no pattern to run.
    if (names.length === 0 && requested === url) return {};
    const query = requested.indexOf('?');
    const match = pattern.exec(query === -1 ? requested : requested.slice(0, query));
    if (!match) return undefined;
    const params: Record<string, string> = {};
    try {
      names.forEach((name, index) => (params[name] = decodeURIComponent(match[index + 1])));
    } catch {
      return undefined;
    }
    return params;
  };
}

/**
 * How `response` answers a JSON body now: through its `json` if it has one (Express's, or one a
 * middleware put on it to see the answer), else as `res.json` would (`writeJson`).
 */
export function jsonAnswerOf(
  response: ServerResponse & { json?: (body: unknown) => unknown },
): (body: unknown) => void {
  const { json } = response;
  return typeof json === 'function'
    ? (body) => void json.call(response, body)
    : (body) => writeJson(response, body);
}

/**
 * `body` as JSON on Node's response, as `res.json` answers it (UTF-8, its length, a weak ETag), with
 * the status already set on the response.
 */
export function writeJson(response: ServerResponse, body: unknown): void {
  const text = JSON.stringify(body);
  response.setHeader('Content-Type', 'application/json; charset=utf-8');
  response.setHeader('Content-Length', Buffer.byteLength(text));
  response.setHeader('ETag', etag(text, { weak: true }));
  response.end(text);
}

/**
 * Express's request and response over Node's, as Express's `app.handle` makes them for every
 * request it takes: each linked to the other, their prototypes the application's.
 */
function asExpress(app: Express, request: IncomingMessage, response: ServerResponse): [Request, Response] {
  const req = request as Request;
  const res = response as Response;
  if (Object.getPrototypeOf(req) !== app.request) {
    req.res = res;
    res.req = req;
    Object.setPrototypeOf(req, app.request);
    Object.setPrototypeOf(res, app.response);
    res.locals ??= Object.create(null) as Record<string, unknown>;
  }
  return [req, res];
}

/**
 * The headers a middleware sets on every response whatever the request (helmet's, for a fixed
 * configuration), computed once: a middleware that sets them per request at the route's hot path
 * costs a call, a check and an allocation per header. Refuses a middleware that does anything else
 * (reads the request, answers, or goes on later): its headers could then differ per request.
 */
export function fixedHeadersOf(middleware: Middleware): Middleware {
  const headers: [string, string][] = [];
  const removed: string[] = [];
  let calledOn = false;
  const request = new Proxy({} as IncomingMessage, {
    get: (_target, property) => {
      throw new Error(`fixedHeadersOf: the middleware reads the request (${String(property)})`);
    },
  });
  const response = {
    setHeader: (name: string, value: string | number | readonly string[]) =>
      headers.push([name, Array.isArray(value) ? value.join(', ') : String(value)]),
    removeHeader: (name: string) => removed.push(name),
  } as unknown as ServerResponse;
  middleware(request, response, (error) => {
    if (error) throw new Error('fixedHeadersOf: the middleware failed', { cause: error });
    calledOn = true;
  });
  if (!calledOn) throw new Error('fixedHeadersOf: the middleware did not go on at once');
  return (_request, res, next) => {
    for (const name of removed) res.removeHeader(name);
    for (const [name, value] of headers) res.setHeader(name, value);
    next();
  };
}
