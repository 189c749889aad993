import request from 'supertest';
import { AppConfig } from '../../src/config';
import { createTestApp, type TestApp } from '../support/app';
import { countRows, truncateAll } from '../support/db';
import { productBySku } from '../support/factories';
import { stubStripeEnv } from '../support/payments';
import { StripeStub } from '../support/stripe-stub';

/**
 * Placing an order and opening its checkout are served ahead of Express (`app.direct-routes.ts`):
 * they must answer exactly as the application's other API routes, which Express and Nest serve.
 * (Their rules, refusals, rate limit and idempotency keys are proven by their own specs, which
 * reach them the same way.)
 */
describe('The customer routes served ahead of Express', () => {
  let t: TestApp;
  const stub = new StripeStub();
  let origin: string;
  let body: { customerEmail: string; items: { productId: string; quantity: number }[] };

  beforeAll(async () => {
    await stub.start();
    t = await createTestApp({ env: stubStripeEnv(stub) });
    origin = t.app.get(AppConfig).corsOrigins[0];
    body = {
      customerEmail: 'buyer@example.com',
      items: [{ productId: (await productBySku(t, 'BEANS-250')).id, quantity: 2 }],
    };
  });
  afterAll(async () => {
    await t.close();
    await stub.stop();
  });
  beforeEach(async () => {
    stub.reset();
    await truncateAll(t.orm);
  });

  /** Every header but the body's own and the date: what the application adds to any API answer. */
  function applicationHeaders(response: request.Response): Record<string, string> {
    const own = /^(content-length$|etag$|date$|connection$|keep-alive$|x-request-id$)/;
    return Object.fromEntries(
      Object.entries(response.headers as Record<string, string>).filter(([name]) => !own.test(name)),
    );
  }

  it('answer with the headers an Express-served route gives: security, CORS, the request id, JSON', async () => {
    const placed = await request(t.http())
      .post('/api/orders')
      .set('Origin', origin)
      .set('X-Request-Id', 'place-1')
      .send(body)
      .expect(201);
    const order = placed.body as { id: string; accessToken: string };
    const checkout = await request(t.http())
      .post(`/api/orders/${order.id}/checkout`)
      .set('Origin', origin)
      .set('Authorization', `Bearer ${order.accessToken}`)
      .set('X-Request-Id', 'checkout-1')
      .expect(201);
    // Reading the order: a route Express and Nest serve.
    const read = await request(t.http())
      .get(`/api/orders/${order.id}`)
      .set('Origin', origin)
      .set('Authorization', `Bearer ${order.accessToken}`)
      .expect(200);
    expect(applicationHeaders(placed)).toEqual(applicationHeaders(read));
    expect(applicationHeaders(checkout)).toEqual(applicationHeaders(read));
    expect(placed.headers['access-control-allow-origin']).toBe(origin);
    expect(placed.headers['x-request-id']).toBe('place-1');
    expect(checkout.headers['x-request-id']).toBe('checkout-1');
    expect(placed.headers.etag).toMatch(/^W\/"/);
    expect(checkout.body).toMatchObject({
      sessionId: expect.stringMatching(/^cs_/),
      url: expect.any(String),
    });
  });

  it('match as Express matches: any case, a trailing slash, the query string; other methods go to Express', async () => {
    const placed = await request(t.http()).post('/API/Orders/?ref=ad').send(body).expect(201);
    const order = placed.body as { id: string; accessToken: string };
    await request(t.http())
      .post(`/api/orders/${order.id}/checkout/`)
      .set('Authorization', `Bearer ${order.accessToken}`)
      .expect(201);
    const other = await request(t.http()).put('/api/orders').send(body).expect(404);
    expect(other.body).toMatchObject({ code: 'HTTP.NOT_FOUND' });
    expect(await countRows(t.orm, 'orders')).toBe(1);
  });

  it('refuse as the application does: a form body is read and validated, a bad id or token is refused', async () => {
    const form = await request(t.http())
      .post('/api/orders')
      .type('form')
      .send('customerEmail=buyer%40example.com&items=1')
      .expect(400);
    expect(form.body).toMatchObject({ code: 'REQUEST.INVALID', errors: [{ field: 'items' }] });
    const notJson = await request(t.http())
      .post('/api/orders')
      .set('Content-Type', 'application/json')
      .send('{"customerEmail":')
      .expect(400);
    expect(notJson.body).toMatchObject({ statusCode: 400 });
    const badId = await request(t.http()).post('/api/orders/not-a-uuid/checkout').expect(400);
    expect(badId.body).toMatchObject({ code: 'REQUEST.INVALID', errors: [{ field: 'id' }] });
    const undecodable = await request(t.http()).post('/api/orders/%E0%A4%A/checkout');
    expect(undecodable.status).toBe(400);
    const placed = (await request(t.http()).post('/api/orders').send(body).expect(201)).body as {
      id: string;
    };
    const stranger = await request(t.http())
      .post(`/api/orders/${placed.id}/checkout`)
      .set('Authorization', 'Bearer not-the-token')
      .expect(404);
    expect(stranger.body).toMatchObject({ code: 'ORDERS.NOT_FOUND' });
    expect(stub.creations()).toHaveLength(0);
  });
});
