import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { AppConfig } from '../../src/config';
import { createTestApp, type TestApp } from '../support/app';
import { countRows, truncateAll } from '../support/db';
import { stubStripeEnv } from '../support/payments';
import { stripeEvent } from '../support/stripe-events';
import { signWithStripe } from '../support/stripe-signature';
import { StripeStub } from '../support/stripe-stub';

/**
 * The webhook route's HTTP contract, as Stripe and a browser see it: statuses, exact bodies, and the
 * headers every API answer carries (request id, security headers, CORS). The route is served ahead
 * of Nest's router: these hold it to what the rest of the API answers.
 */
describe('POST /api/webhooks/stripe: the HTTP contract', () => {
  let t: TestApp;
  let origin: string;
  const stub = new StripeStub();

  beforeAll(async () => {
    await stub.start();
    t = await createTestApp({ env: stubStripeEnv(stub) });
    origin = t.app.get(AppConfig).corsOrigins[0];
  });
  afterAll(async () => {
    await t.close();
    await stub.stop();
  });
  beforeEach(() => truncateAll(t.orm));

  /** A signed event about a session no order has: answered 200 `unmatched`. */
  const event = (livemode?: boolean) =>
    stripeEvent('checkout.session.expired', {
      orderId: randomUUID(),
      sessionId: 'cs_test_contract',
      amount: 100,
      livemode,
    });
  const post = (path = '/api/webhooks/stripe') =>
    request(t.http()).post(path).set('Content-Type', 'application/json');

  function expectApiHeaders(response: request.Response): void {
    expect(response.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(response.headers['x-request-id']).toMatch(/^[\w.-]{1,64}$/);
    expect(response.headers['content-security-policy']).toContain("default-src 'none'");
    expect(response.headers['x-content-type-options']).toBe('nosniff');
    expect(response.headers['strict-transport-security']).toBeDefined();
    expect(response.headers['x-powered-by']).toBeUndefined();
    expect(response.headers.etag).toMatch(/^W\/"/);
  }

  /** The headers helmet sets: everything but the body's, the request's and CORS's. */
  function securityHeaders(response: request.Response): Record<string, string> {
    const own =
      /^(content-|etag$|x-request-id$|date$|connection$|keep-alive$|vary$|access-control-|transfer-encoding$)/;
    return Object.fromEntries(
      Object.entries(response.headers as Record<string, string>).filter(([name]) => !own.test(name)),
    );
  }

  it('200 {received, outcome}, with the request id asked for, the security and CORS headers', async () => {
    const body = event();
    const response = await post()
      .set('Stripe-Signature', signWithStripe(body))
      .set('X-Request-Id', 'stripe-delivery-1')
      .set('Origin', origin)
      .send(body);
    expect(response.status).toBe(200);
    expect(response.text).toBe('{"received":true,"outcome":"unmatched"}');
    expectApiHeaders(response);
    expect(response.headers['x-request-id']).toBe('stripe-delivery-1');
    // Every security header another API answer carries, with the same value.
    const other = await request(t.http()).get('/api/products').expect(200);
    expect(securityHeaders(response)).toEqual(securityHeaders(other));
    expect(Object.keys(securityHeaders(response)).length).toBeGreaterThanOrEqual(10);
    expect(response.headers['access-control-allow-origin']).toBe(origin);
    expect(response.headers.vary).toBe('Origin');
    expect(await countRows(t.orm, 'processed_webhook_events')).toBe(1);

    const again = await post().set('Stripe-Signature', signWithStripe(body)).send(body);
    expect(again.body).toEqual({ received: true, outcome: 'duplicate' });
    expect(again.headers['access-control-allow-origin']).toBeUndefined();
  });

  it.each([
    ['with a trailing slash', '/api/webhooks/stripe/'],
    ['in other case, with a query string', '/API/Webhooks/Stripe?attempt=2'],
  ])('the same route %s', async (_, path) => {
    const body = event();
    const response = await post(path).set('Stripe-Signature', signWithStripe(body)).send(body);
    expect(response.status).toBe(200);
    expect(response.body).toEqual({ received: true, outcome: 'unmatched' });
  });

  const refusals: [string, () => request.Test, number, string, string][] = [
    [
      'no signature',
      () => post().send(event()),
      400,
      'PAYMENTS.INVALID_SIGNATURE',
      'Missing Stripe-Signature header',
    ],
    [
      'a malformed signature',
      () => post().set('Stripe-Signature', 't=1,v1=00').send(event()),
      400,
      'PAYMENTS.INVALID_SIGNATURE',
      'Malformed v1 signature',
    ],
    [
      'a signed body that is not JSON by its type',
      () => {
        const body = event();
        return request(t.http())
          .post('/api/webhooks/stripe')
          .set('Content-Type', 'text/plain')
          .set('Stripe-Signature', signWithStripe(body))
          .send(body);
      },
      400,
      'PAYMENTS.UNSUPPORTED_WEBHOOK_BODY',
      'Expected a JSON body (Content-Type: application/json) signed by Stripe',
    ],
    [
      'an event of the other mode',
      () => {
        const body = event(true);
        return post().set('Stripe-Signature', signWithStripe(body)).send(body);
      },
      400,
      'PAYMENTS.LIVEMODE_MISMATCH',
      'This service takes test-mode events only',
    ],
    [
      'a body over 100 kB',
      () => post().send(`{"a":"${'x'.repeat(110_000)}"}`),
      413,
      'HTTP.PAYLOAD_TOO_LARGE',
      'The request body is too large.',
    ],
    [
      'a charset other than UTF-8',
      () =>
        request(t.http())
          .post('/api/webhooks/stripe')
          .set('Content-Type', 'application/json; charset=latin1')
          .send('{}'),
      415,
      'HTTP.UNSUPPORTED_MEDIA_TYPE',
      'Unsupported body encoding: send UTF-8 JSON (Content-Type: application/json).',
    ],
    [
      'an unknown content encoding',
      () => post().set('Content-Encoding', 'x-unknown').send('{}'),
      415,
      'HTTP.UNSUPPORTED_MEDIA_TYPE',
      'Unsupported body encoding: send UTF-8 JSON (Content-Type: application/json).',
    ],
  ];

  it.each(refusals)(
    '%s: refused in the error shape, nothing written',
    async (_, send, status, code, message) => {
      const response = await send().set('X-Request-Id', 'refused-1');
      expect(response.status).toBe(status);
      expect(response.body).toEqual({ statusCode: status, code, message, requestId: 'refused-1' });
      expectApiHeaders(response);
      expect(await countRows(t.orm, 'processed_webhook_events')).toBe(0);
    },
  );

  it('another method: 404 in the error shape, as any path no route serves', async () => {
    const response = await request(t.http()).get('/api/webhooks/stripe');
    expect(response.status).toBe(404);
    expect(response.body).toEqual({
      statusCode: 404,
      code: 'HTTP.NOT_FOUND',
      message: 'No such endpoint.',
      requestId: expect.any(String),
    });
  });

  it('a CORS preflight is answered as for the rest of the API', async () => {
    const response = await request(t.http())
      .options('/api/webhooks/stripe')
      .set('Origin', origin)
      .set('Access-Control-Request-Method', 'POST');
    expect(response.status).toBe(204);
    expect(response.headers['access-control-allow-origin']).toBe(origin);
  });
});
