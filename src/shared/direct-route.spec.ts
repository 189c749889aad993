import { once } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ArgumentsHost, ExceptionFilter } from '@nestjs/common';
import express, { type Response } from 'express';
import helmet from 'helmet';
import { type DirectRoute, fixedHeadersOf, matcherOf, type Middleware, serveAhead } from './direct-route';

function headersSetBy(middleware: Middleware): Record<string, string> {
  const headers: Record<string, string> = {};
  const response = {
    setHeader: (name: string, value: string) => (headers[name.toLowerCase()] = value),
    removeHeader: (name: string) => delete headers[name.toLowerCase()],
  } as unknown as ServerResponse;
  let next = false;
  middleware({ headers: {} } as IncomingMessage, response, () => (next = true));
  expect(next).toBe(true);
  return headers;
}

describe('fixedHeadersOf', () => {
  it('sets what helmet sets, computed once, and goes on', () => {
    const api = helmet({
      contentSecurityPolicy: { directives: { defaultSrc: ["'none'"] } },
    });
    const fixed = headersSetBy(fixedHeadersOf(api));
    expect(fixed).toEqual(headersSetBy(api));
    expect(fixed['content-security-policy']).toContain("default-src 'none'");
  });

  it('refuses a middleware whose headers depend on the request', () => {
    const perRequest: Middleware = (request, response, next) => {
      response.setHeader('X-Path', request.url ?? '');
      next();
    };
    expect(() => fixedHeadersOf(perRequest)).toThrow('reads the request (url)');
  });

  it('refuses a middleware that goes on later, or not at all', () => {
    const later: Middleware = (_request, _response, next) => setImmediate(next);
    expect(() => fixedHeadersOf(later)).toThrow('did not go on at once');
  });
});

describe('serveAhead', () => {
  /** A server whose application answers 418 to whatever reaches it, with `route` served ahead. */
  async function serve(route: Partial<DirectRoute>): Promise<{ url: string; close: () => void }> {
    const server = createServer((_request, response) => {
      response.statusCode = 418;
      response.end('application');
    });
    const filter: ExceptionFilter = {
      catch: (error: Error, host: ArgumentsHost) =>
        host.switchToHttp().getResponse<Response>().status(400).json({ message: error.message }),
    };
    serveAhead(server, {
      method: 'POST',
      url: '/api/hook',
      before: [],
      onError: [],
      handle: () => Promise.resolve({ ok: true }),
      status: 200,
      filter,
      express: express(),
      ...route,
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const { port } = server.address() as AddressInfo;
    return { url: `http://127.0.0.1:${port}`, close: () => server.close() };
  }

  it("answers the route as res.json would, and hands everything else to the server's listener", async () => {
    const { url, close } = await serve({});
    try {
      const answer = await fetch(`${url}/API/Hook/?x=1`, { method: 'POST' });
      expect(answer.status).toBe(200);
      expect(answer.headers.get('content-type')).toBe('application/json; charset=utf-8');
      expect(answer.headers.get('etag')).toMatch(/^W\/"/);
      expect(await answer.text()).toBe('{"ok":true}');
      for (const [path, method] of [
        ['/api/hook', 'GET'],
        ['/api/hooks', 'POST'],
      ]) {
        const other = await fetch(`${url}${path}`, { method });
        expect([other.status, await other.text()]).toEqual([418, 'application']);
      }
    } finally {
      close();
    }
  });

  it("runs the middleware in order; an error goes through onError, then the filter, on Express's response", async () => {
    const order: string[] = [];
    const { url, close } = await serve({
      before: [
        (_request, _response, next) => (order.push('first'), next()),
        (_request, _response, next) => (order.push('second'), next(new Error('refused'))),
        () => order.push('never'),
      ],
      onError: [(error, _request, _response, next) => next(new Error(`mapped: ${(error as Error).message}`))],
    });
    try {
      const answer = await fetch(`${url}/api/hook`, { method: 'POST' });
      expect([answer.status, await answer.json()]).toEqual([400, { message: 'mapped: refused' }]);
      expect(order).toEqual(['first', 'second']);
    } finally {
      close();
    }
  });

  it('an answer that cannot be written as JSON goes to the filter too', async () => {
    const { url, close } = await serve({ handle: () => Promise.resolve({ amount: 10n }) });
    try {
      const answer = await fetch(`${url}/api/hook`, { method: 'POST' });
      expect(answer.status).toBe(400);
      expect(await answer.json()).toEqual({ message: expect.stringContaining('BigInt') });
    } finally {
      close();
    }
  });

  it('a filter that throws: a bare 500 in the error shape, as the filter answers what it did not expect', async () => {
    const { url, close } = await serve({
      handle: () => Promise.reject(new Error('handler failed')),
      filter: {
        catch: () => {
          throw new Error('filter failed');
        },
      },
    });
    try {
      const answer = await fetch(`${url}/api/hook`, { method: 'POST' });
      expect(answer.status).toBe(500);
      expect(await answer.json()).toEqual({
        statusCode: 500,
        code: 'INTERNAL',
        message: 'Internal server error',
      });
    } finally {
      close();
    }
  });
});

describe('matcherOf', () => {
  it('matches as Express matches a route, and gives its parameters decoded, a new object each time', () => {
    const checkout = matcherOf('/api/orders/:id/checkout');
    expect(checkout('/api/orders/a%20b/checkout')).toEqual({ id: 'a b' });
    expect(checkout('/API/Orders/abc/Checkout/?x=1')).toEqual({ id: 'abc' });
    expect(checkout('/api/orders/abc/checkout')).not.toBe(checkout('/api/orders/abc/checkout'));
    for (const other of ['/api/orders//checkout', '/api/orders/a/b/checkout', '/api/orders/abc/checkoutx'])
      expect(checkout(other)).toBeUndefined();
    // Undecodable: left to Express, which refuses it.
    expect(checkout('/api/orders/%E0%A4%A/checkout')).toBeUndefined();
    const hook = matcherOf('/api/web.hook');
    expect(hook('/api/web.hook')).toEqual({});
    expect(hook('/api/web.hook/?a=1')).toEqual({});
    expect(hook('/api/webxhook')).toBeUndefined();
  });
});
