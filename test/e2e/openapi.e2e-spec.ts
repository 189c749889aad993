import Ajv, { type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import request, { type Response } from 'supertest';
import { createTestApp, type TestApp } from '../support/app';
import { placeOrder, productBySku, type PlacedOrderBody } from '../support/factories';
import { deliver, stubStripeEnv } from '../support/payments';
import { payWithCard, TEST_CARDS } from '../support/sandbox';
import { stripeEvent } from '../support/stripe-events';
import { WEBHOOK_SECRET } from '../support/stripe-signature';
import { StripeStub } from '../support/stripe-stub';

interface OpenApiDocument {
  paths: Record<
    string,
    Record<string, { responses: Record<string, { content?: Record<string, { schema: object }> }> }>
  >;
}

/**
 * The served OpenAPI document (/api/docs-json) against the API's real answers: every endpoint's
 * successes and the errors it really answers are validated against the response schema the
 * document gives for that status (an undocumented status fails). Errors must use ErrorResponse.
 */
describe('OpenAPI document tells the truth', () => {
  let t: TestApp; // sandbox Stripe, no rate limit
  let limited: TestApp; // a Stripe stub that fails on demand, two creations per minute
  const stub = new StripeStub();
  let document: OpenApiDocument;
  let ajv: Ajv;
  /** The two orders the rate-limited app may create this minute. */
  let limitedOrders: PlacedOrderBody[];
  const validated = new Set<string>();

  beforeAll(async () => {
    await stub.start();
    t = await createTestApp({ listen: true, env: { STRIPE_WEBHOOK_SECRET: WEBHOOK_SECRET } });
    limited = await createTestApp({ env: { ...stubStripeEnv(stub), RATE_LIMIT_PER_MINUTE: '2' } });
    limitedOrders = [await placeOrder(limited), await placeOrder(limited)];
    document = (await request(t.http()).get('/api/docs-json').expect(200)).body as OpenApiDocument;
    ajv = new Ajv({ strict: false, allErrors: true, validateSchema: false });
    addFormats(ajv);
    ajv.addSchema({ ...document, $id: 'openapi' });
  });
  afterAll(async () => {
    await t?.close();
    await limited?.close();
    await stub.stop();
  });

  const pointer = (...parts: string[]) =>
    parts.map((p) => p.replace(/~/g, '~0').replace(/\//g, '~1')).join('/');

  /** Validates a real response against the document's schema for `method path` and its status. */
  function expectDocumented(method: string, path: string, response: Response): void {
    const operation = document.paths[path]?.[method];
    expect([`${method} ${path}`, operation !== undefined]).toEqual([`${method} ${path}`, true]);
    const status = String(response.status);
    const documented = operation.responses[status];
    expect([`${method} ${path} ${status}`, documented !== undefined]).toEqual([
      `${method} ${path} ${status}`,
      true,
    ]);
    const schema = documented.content?.['application/json']?.schema;
    if (response.status >= 400) {
      expect(schema).toEqual({ $ref: '#/components/schemas/ErrorResponse' });
      expect(response.body.requestId).toBe(response.headers['x-request-id']);
    }
    if (schema) {
      const location = `openapi#/${pointer('paths', path, method, 'responses', status, 'content', 'application/json', 'schema')}`;
      const validate: ValidateFunction = ajv.getSchema(location) ?? ajv.compile({ $ref: location });
      const valid = validate(response.body);
      expect([`${method} ${path} ${status}`, validate.errors ?? []]).toEqual([
        `${method} ${path} ${status}`,
        [],
      ]);
      expect(valid).toBe(true);
    } else {
      expect([`${method} ${path} ${status} has a body schema`, response.body]).toEqual([
        `${method} ${path} ${status} has a body schema`,
        {},
      ]);
    }
    validated.add(`${method} ${path} ${status}`);
  }

  const bearer = (order: PlacedOrderBody) => `Bearer ${order.accessToken}`;
  const unknownId = '00000000-0000-4000-8000-000000000000';

  it('GET /api/products, /api/health, /api/health/ready, /api/storefront', async () => {
    expectDocumented('get', '/api/products', await request(t.http()).get('/api/products'));
    expectDocumented('get', '/api/health', await request(t.http()).get('/api/health'));
    expectDocumented('get', '/api/health/ready', await request(t.http()).get('/api/health/ready'));
    expectDocumented('get', '/api/storefront', await request(t.http()).get('/api/storefront'));
  });

  it('POST /api/orders: 201, and 400 (fields, malformed JSON), 413, 415, 422, 429', async () => {
    const beans = await productBySku(t, 'BEANS-250');
    const post = () => request(t.http()).post('/api/orders');
    const created = await post().send({
      customerEmail: 'a@example.com',
      items: [{ productId: beans.id, quantity: 1 }],
    });
    expect(created.status).toBe(201);
    expectDocumented('post', '/api/orders', created);
    const invalid = await post().send({ customerEmail: 'nope', items: [] });
    expect(invalid.body.code).toBe('REQUEST.INVALID');
    expectDocumented('post', '/api/orders', invalid);
    const malformed = await post()
      .set('Content-Type', 'application/json')
      .send('{"customerEmail": "secret-value');
    expect(malformed.status).toBe(400);
    expect(JSON.stringify(malformed.body)).not.toContain('secret-value');
    expectDocumented('post', '/api/orders', malformed);
    const huge = await post().send({ padding: 'x'.repeat(200 * 1024) });
    expect(huge.status).toBe(413);
    expectDocumented('post', '/api/orders', huge);
    const charset = await post().set('Content-Type', 'application/json; charset=latin9').send('{}');
    expect(charset.status).toBe(415);
    expect(JSON.stringify(charset.body)).not.toMatch(/latin9/i);
    expectDocumented('post', '/api/orders', charset);
    const unknown = await post().send({
      customerEmail: 'a@example.com',
      items: [{ productId: unknownId, quantity: 1 }],
    });
    expect(unknown.status).toBe(422);
    expectDocumented('post', '/api/orders', unknown);

    const throttled = await request(limited.http())
      .post('/api/orders')
      .send({ customerEmail: 'a@example.com', items: [] });
    expect(throttled.status).toBe(429);
    expect(throttled.body.message).toBe('Too many requests: wait a minute, then try again.');
    expect(JSON.stringify(throttled.body)).not.toMatch(/Throttler|Exception/);
    expectDocumented('post', '/api/orders', throttled);
  });

  it('GET /api/orders/{id} and /history: 200, 400 (not a UUID), 404 (unknown, wrong token)', async () => {
    const order = await placeOrder(t);
    for (const path of ['/api/orders/{id}', '/api/orders/{id}/history']) {
      const at = (id: string) => path.replace('{id}', id);
      expectDocumented(
        'get',
        path,
        await request(t.http()).get(at(order.id)).set('Authorization', bearer(order)),
      );
      const notUuid = await request(t.http()).get(at('nope')).set('Authorization', bearer(order));
      expect(notUuid.status).toBe(400);
      expectDocumented('get', path, notUuid);
      const wrongToken = await request(t.http()).get(at(order.id)).set('Authorization', 'Bearer wrong');
      expect(wrongToken.status).toBe(404);
      expectDocumented('get', path, wrongToken);
    }
  });

  it('POST /api/orders/{id}/checkout and /checkout/confirm (a real payment through the sandbox), /cancel', async () => {
    const order = await placeOrder(t);
    const checkout = await request(t.http())
      .post(`/api/orders/${order.id}/checkout`)
      .set('Authorization', bearer(order));
    expect(checkout.status).toBe(201);
    expectDocumented('post', '/api/orders/{id}/checkout', checkout);
    const paid = await payWithCard(checkout.body.url, { number: TEST_CARDS.success });
    expect(paid.status).toBe(303);
    const confirm = (body: object) =>
      request(t.http())
        .post(`/api/orders/${order.id}/checkout/confirm`)
        .set('Authorization', bearer(order))
        .send(body);
    const confirmed = await confirm({ sessionId: checkout.body.sessionId });
    expect([confirmed.status, confirmed.body.status]).toEqual([200, 'paid']);
    expectDocumented('post', '/api/orders/{id}/checkout/confirm', confirmed);
    const badSession = await confirm({ sessionId: 'nope' });
    expect(badSession.status).toBe(400);
    expectDocumented('post', '/api/orders/{id}/checkout/confirm', badSession);
    const otherSession = await confirm({ sessionId: 'cs_test_unknown' });
    expect(otherSession.status).toBe(404);
    expectDocumented('post', '/api/orders/{id}/checkout/confirm', otherSession);

    const again = await request(t.http())
      .post(`/api/orders/${order.id}/checkout`)
      .set('Authorization', bearer(order));
    expect(again.status).toBe(409);
    expectDocumented('post', '/api/orders/{id}/checkout', again);
    const cancelPaid = await request(t.http())
      .post(`/api/orders/${order.id}/cancel`)
      .set('Authorization', bearer(order));
    expect(cancelPaid.status).toBe(409);
    expectDocumented('post', '/api/orders/{id}/cancel', cancelPaid);

    const other = await placeOrder(t);
    const canceled = await request(t.http())
      .post(`/api/orders/${other.id}/cancel`)
      .set('Authorization', bearer(other));
    expect([canceled.status, canceled.body.status]).toEqual([200, 'canceled']);
    expectDocumented('post', '/api/orders/{id}/cancel', canceled);
    const unknown = await request(t.http())
      .post(`/api/orders/${unknownId}/cancel`)
      .set('Authorization', bearer(other));
    expect(unknown.status).toBe(404);
    expectDocumented('post', '/api/orders/{id}/cancel', unknown);
  });

  it('checkout: 502 when Stripe fails, 429 past the limit; confirm: 502 when Stripe fails', async () => {
    const [first, second] = limitedOrders;
    const checkout = (order: PlacedOrderBody) =>
      request(limited.http()).post(`/api/orders/${order.id}/checkout`).set('Authorization', bearer(order));
    const opened = await checkout(first);
    expect(opened.status).toBe(201);
    stub.failNext(500);
    stub.failNext(500); // the SDK's own retry
    const confirmFailed = await request(limited.http())
      .post(`/api/orders/${first.id}/checkout/confirm`)
      .set('Authorization', bearer(first))
      .send({ sessionId: opened.body.sessionId });
    expect(confirmFailed.status).toBe(502);
    expectDocumented('post', '/api/orders/{id}/checkout/confirm', confirmFailed);

    stub.failNext(500);
    stub.failNext(500);
    const failed = await checkout(second);
    expect(failed.status).toBe(502);
    expectDocumented('post', '/api/orders/{id}/checkout', failed);
    const throttled = await checkout(second);
    expect(throttled.status).toBe(429);
    expectDocumented('post', '/api/orders/{id}/checkout', throttled);
  });

  it('POST /api/webhooks/stripe: 200 (signed), 400 (bad signature)', async () => {
    const body = stripeEvent('checkout.session.expired', {
      orderId: unknownId,
      sessionId: 'cs_test_x',
      amount: 100,
    });
    const received = await deliver(t, body);
    expect(received.status).toBe(200);
    expectDocumented('post', '/api/webhooks/stripe', received);
    const refused = await deliver(t, body, 't=1,v1=deadbeef');
    expect(refused.status).toBe(400);
    expectDocumented('post', '/api/webhooks/stripe', refused);
  });

  it('says what the fields and the token are: reason and sourceRef string | null, an opaque bearer token', () => {
    const { components } = document as unknown as {
      components: {
        schemas: Record<string, { properties: Record<string, object>; required: string[] }>;
        securitySchemes: Record<string, object>;
      };
    };
    for (const schema of ['OrderResponse', 'PlacedOrderResponse', 'OrderStatusResponse']) {
      expect(components.schemas[schema].properties.reason).toMatchObject({ type: 'string', nullable: true });
      expect(components.schemas[schema].required).toContain('reason');
    }
    expect(components.schemas.OrderHistoryEntryResponse.properties.sourceRef).toMatchObject({
      type: 'string',
      nullable: true,
    });
    expect(components.securitySchemes.bearer).toMatchObject({ scheme: 'bearer', bearerFormat: 'opaque' });
  });

  it('an unknown /api path answers the same error shape, and every operation was validated', async () => {
    const response = await request(t.http()).get('/api/nope').expect(404);
    const validate = ajv.compile({ $ref: 'openapi#/components/schemas/ErrorResponse' });
    expect([validate(response.body), validate.errors ?? []]).toEqual([true, []]);

    const operations = Object.entries(document.paths).flatMap(([path, item]) =>
      Object.keys(item).map((method) => `${method} ${path}`),
    );
    const untested = operations.filter((op) => ![...validated].some((v) => v.startsWith(`${op} 2`)));
    expect(untested).toEqual([]);
  });
});
