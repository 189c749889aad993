import type { IncomingMessage, ServerResponse } from 'node:http';
import helmet from 'helmet';
import { fixedHeadersOf, type Middleware } from './direct-route';

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
