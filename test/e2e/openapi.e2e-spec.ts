import Ajv, { type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import request, { type Response } from 'supertest';
import { AppConfig } from '../../src/config';
import { createTestApp, type TestApp } from '../support/app';
import { placeOrder, productBySku, type PlacedOrderBody } from '../support/factories';
import { deliver, ledgerRow, type LedgerRow, startCheckout, stubStripeEnv } from '../support/payments';
import { payWithCard, sandboxEvents, TEST_CARDS } from '../support/sandbox';
import { addStaff, asStaff, issueToken, login, STAFF_PASSWORD, type StaffLogin } from '../support/staff';
import { stripeEvent } from '../support/stripe-events';
import { WEBHOOK_SECRET } from '../support/stripe-signature';
import { StripeStub } from '../support/stripe-stub';
import { TcpProxy } from '../support/tcp-proxy';
import { waitFor } from '../support/wait';

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
  /** Staff sessions of each role (the staff API), made once: scrypt is slow by design. */
  const staff = {} as Record<'viewer' | 'operator' | 'admin', StaffLogin>;

  beforeAll(async () => {
    await stub.start();
    t = await createTestApp({ listen: true, env: { STRIPE_WEBHOOK_SECRET: WEBHOOK_SECRET } });
    limited = await createTestApp({ env: { ...stubStripeEnv(stub), RATE_LIMIT_PER_MINUTE: '2' } });
    limitedOrders = [await placeOrder(limited), await placeOrder(limited)];
    document = (await request(t.http()).get('/api/docs-json').expect(200)).body as OpenApiDocument;
    ajv = new Ajv({ strict: false, allErrors: true, validateSchema: false });
    addFormats(ajv);
    ajv.addSchema({ ...document, $id: 'openapi' });
    for (const role of ['viewer', 'operator', 'admin'] as const) {
      await addStaff(t, `${role}@openapi.test`, role);
      staff[role] = await login(t, `${role}@openapi.test`);
    }
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
    const mediaTypes = Object.keys(documented.content ?? {});
    if (mediaTypes.length > 0) {
      const contentType = String(response.headers['content-type'] ?? '').split(';')[0];
      expect([`${method} ${path} ${status}`, mediaTypes]).toEqual([
        `${method} ${path} ${status}`,
        expect.arrayContaining([contentType]),
      ]);
    }
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

  describe('with its database cut off', () => {
    let proxy: TcpProxy;
    let cutOff: TestApp;

    beforeAll(async () => {
      // The test database, through a relay that the test cuts once the application has started.
      const url = new URL(process.env.DATABASE_URL ?? '');
      proxy = await TcpProxy.start(Number(url.port || 5432));
      url.hostname = '127.0.0.1';
      url.port = String(proxy.port);
      cutOff = await createTestApp({
        env: { ...stubStripeEnv(stub), DATABASE_URL: url.toString(), DATABASE_CONNECT_TIMEOUT_MS: '1000' },
      });
      await proxy.cut();
    });
    afterAll(async () => {
      await cutOff?.close();
      await proxy?.cut();
    });

    it('answers 503 in the documented error shape: the shop, the checkout, the webhook, readiness, the staff API', async () => {
      const order = await placeOrder(t);
      const beans = await productBySku(t, 'BEANS-250');
      const http = () => request(cutOff.http());
      const webhookBody = stripeEvent('checkout.session.expired', {
        orderId: order.id,
        sessionId: 'cs_test_cut_off',
        amount: 100,
      });
      const answers: [string, string, Response][] = [
        ['get', '/api/products', await http().get('/api/products')],
        [
          'post',
          '/api/orders',
          await http()
            .post('/api/orders')
            .send({ customerEmail: 'a@example.com', items: [{ productId: beans.id, quantity: 1 }] }),
        ],
        [
          'get',
          '/api/orders/{id}',
          await http().get(`/api/orders/${order.id}`).set('Authorization', bearer(order)),
        ],
        [
          'post',
          '/api/orders/{id}/checkout',
          await http().post(`/api/orders/${order.id}/checkout`).set('Authorization', bearer(order)),
        ],
        ['post', '/api/webhooks/stripe', await deliver(cutOff, webhookBody)],
        ['get', '/api/admin/dashboard', await asStaff(cutOff, staff.viewer, 'get', '/api/admin/dashboard')],
      ];
      for (const [method, path, response] of answers) {
        expect([method, path, response.status, response.body.code]).toEqual([
          method,
          path,
          503,
          'UNAVAILABLE',
        ]);
        expectDocumented(method, path, response);
      }
      // Readiness too: in the same shape, without the health check's report of the database's error.
      const ready = await http().get('/api/health/ready');
      expect([ready.status, ready.body.code, JSON.stringify(ready.body)]).toEqual([
        503,
        'UNAVAILABLE',
        expect.not.stringMatching(/database|connection|ECONN/i),
      ]);
      expectDocumented('get', '/api/health/ready', ready);
    });
  });

  describe('the staff API (/api/admin)', () => {
    const anonymous = (method: 'get' | 'post' | 'delete', path: string) => request(t.http())[method](path);

    /** An order paid through the sandbox, confirmed at once (its webhooks follow on their own). */
    async function paidOrder(): Promise<PlacedOrderBody> {
      const order = await placeOrder(t);
      const { url, sessionId } = await startCheckout(t, order);
      expect((await payWithCard(url, { number: TEST_CARDS.success })).status).toBe(303);
      const confirmed = await request(t.http())
        .post(`/api/orders/${order.id}/checkout/confirm`)
        .set('Authorization', bearer(order))
        .send({ sessionId });
      expect(confirmed.body.status).toBe('paid');
      return order;
    }

    it('POST, GET, DELETE /api/admin/session: 204, 200, 204; 400, 401, 403', async () => {
      await addStaff(t, 'leaving@openapi.test', 'viewer');
      const path = '/api/admin/session';
      const loggedIn = await anonymous('post', path).send({
        email: 'leaving@openapi.test',
        password: STAFF_PASSWORD,
      });
      expect(loggedIn.status).toBe(204);
      expectDocumented('post', path, loggedIn);
      const invalid = await anonymous('post', path).send({ email: 'not-an-email' });
      expect(invalid.status).toBe(400);
      expectDocumented('post', path, invalid);
      const wrong = await anonymous('post', path).send({
        email: 'leaving@openapi.test',
        password: 'not the password',
      });
      expect(wrong.status).toBe(401);
      expectDocumented('post', path, wrong);

      const session = await login(t, 'leaving@openapi.test');
      const me = await asStaff(t, session, 'get', path);
      expect(me.body).toMatchObject({ email: 'leaving@openapi.test', role: 'viewer' });
      expectDocumented('get', path, me);
      const noCsrf = await request(t.http()).delete(path).set('Cookie', session.cookie);
      expect(noCsrf.status).toBe(403);
      expectDocumented('delete', path, noCsrf);
      const out = await asStaff(t, session, 'delete', path);
      expect(out.status).toBe(204);
      expectDocumented('delete', path, out);
      const gone = await asStaff(t, session, 'get', path);
      expect(gone.status).toBe(401);
      expectDocumented('get', path, gone);
      const notLoggedIn = await anonymous('delete', path);
      expect(notLoggedIn.status).toBe(401);
      expectDocumented('delete', path, notLoggedIn);
    });

    it('GET /api/admin/orders, /export.csv, /orders/{id}; POST /orders/{id}/refunds: 2xx, 400, 401, 403, 404, 409, 422', async () => {
      const order = await paidOrder();
      const list = await asStaff(t, staff.viewer, 'get', '/api/admin/orders?status=paid&limit=1');
      expect([list.status, list.body.items[0].id]).toEqual([200, order.id]);
      expectDocumented('get', '/api/admin/orders', list);
      const badQuery = await asStaff(t, staff.viewer, 'get', '/api/admin/orders?limit=0');
      expect(badQuery.status).toBe(400);
      expectDocumented('get', '/api/admin/orders', badQuery);
      const stranger = await anonymous('get', '/api/admin/orders').set('Authorization', bearer(order));
      expect(stranger.status).toBe(401);
      expectDocumented('get', '/api/admin/orders', stranger);

      const csv = await asStaff(t, staff.viewer, 'get', '/api/admin/orders/export.csv?status=paid');
      expect(csv.status).toBe(200);
      expect(csv.text).toContain(`\r\n${order.id},`);
      // Documented as CSV (no JSON schema): expectDocumented checks the answer's content type.
      const csvContent = document.paths['/api/admin/orders/export.csv'].get.responses['200'].content;
      expect(Object.keys(csvContent ?? {})).toEqual(['text/csv']);
      expectDocumented('get', '/api/admin/orders/export.csv', csv);
      const badCsv = await asStaff(t, staff.viewer, 'get', '/api/admin/orders/export.csv?status=nope');
      expect(badCsv.status).toBe(400);
      expectDocumented('get', '/api/admin/orders/export.csv', badCsv);
      const anonymousCsv = await anonymous('get', '/api/admin/orders/export.csv');
      expect(anonymousCsv.status).toBe(401);
      expectDocumented('get', '/api/admin/orders/export.csv', anonymousCsv);

      const record = '/api/admin/orders/{id}';
      const one = await asStaff(t, staff.viewer, 'get', `/api/admin/orders/${order.id}`);
      expect([one.status, one.body.status, one.body.checkoutAttempts.length]).toEqual([200, 'paid', 1]);
      expectDocumented('get', record, one);
      const notUuid = await asStaff(t, staff.viewer, 'get', '/api/admin/orders/nope');
      expect(notUuid.status).toBe(400);
      expectDocumented('get', record, notUuid);
      const unknown = await asStaff(t, staff.viewer, 'get', `/api/admin/orders/${unknownId}`);
      expect(unknown.status).toBe(404);
      expectDocumented('get', record, unknown);

      const refunds = '/api/admin/orders/{id}/refunds';
      const refund = (session: StaffLogin, id: string, body: object) =>
        asStaff(t, session, 'post', `/api/admin/orders/${id}/refunds`).send(body);
      const created = await refund(staff.operator, order.id, { amount: 250, reason: 'Mug chipped' });
      expect([created.status, created.body.amount, created.body.requestedBy]).toEqual([
        201,
        250,
        'operator@openapi.test',
      ]);
      expectDocumented('post', refunds, created);
      const tooMuch = await refund(staff.operator, order.id, { amount: order.totalAmount, reason: 'All' });
      expect(tooMuch.status).toBe(422);
      expectDocumented('post', refunds, tooMuch);
      const badBody = await refund(staff.operator, order.id, { amount: 0, reason: '' });
      expect(badBody.status).toBe(400);
      expectDocumented('post', refunds, badBody);
      const viewer = await refund(staff.viewer, order.id, { reason: 'Not allowed' });
      expect(viewer.status).toBe(403);
      expectDocumented('post', refunds, viewer);
      const unpaid = await placeOrder(t);
      const nothingPaid = await refund(staff.operator, unpaid.id, { reason: 'Nothing paid' });
      expect(nothingPaid.status).toBe(409);
      expectDocumented('post', refunds, nothingPaid);
      const unknownOrder = await refund(staff.operator, unknownId, { reason: 'Who?' });
      expect(unknownOrder.status).toBe(404);
      expectDocumented('post', refunds, unknownOrder);
    });

    it('GET /api/admin/reviews, POST /reviews/{id}/resolve: 200; 400, 403, 404, 409', async () => {
      // A payment event for less than the order's total: a review item (amount_mismatch).
      const order = await placeOrder(t);
      const { sessionId } = await startCheckout(t, order);
      const mismatch = stripeEvent('checkout.session.completed.paid', {
        orderId: order.id,
        sessionId,
        amount: 1,
      });
      expect((await deliver(t, mismatch)).body).toEqual({ received: true, outcome: 'mismatch' });

      const list = await asStaff(t, staff.viewer, 'get', `/api/admin/reviews?orderId=${order.id}`);
      expect(list.body.items).toEqual([
        expect.objectContaining({ kind: 'amount_mismatch', orderId: order.id }),
      ]);
      expectDocumented('get', '/api/admin/reviews', list);
      const badQuery = await asStaff(t, staff.viewer, 'get', '/api/admin/reviews?state=nope');
      expect(badQuery.status).toBe(400);
      expectDocumented('get', '/api/admin/reviews', badQuery);

      const path = '/api/admin/reviews/{id}/resolve';
      const resolve = (session: StaffLogin, id: string, body: object) =>
        asStaff(t, session, 'post', `/api/admin/reviews/${id}/resolve`).send(body);
      const id = String(list.body.items[0].id);
      const viewer = await resolve(staff.viewer, id, { note: 'Looked' });
      expect(viewer.status).toBe(403);
      expectDocumented('post', path, viewer);
      const noNote = await resolve(staff.operator, id, { note: ' ' });
      expect(noNote.status).toBe(400);
      expectDocumented('post', path, noNote);
      const resolved = await resolve(staff.operator, id, { note: 'Asked the customer to pay again' });
      expect([resolved.status, resolved.body.resolvedBy]).toEqual([200, 'operator@openapi.test']);
      expectDocumented('post', path, resolved);
      const again = await resolve(staff.operator, id, { note: 'Again' });
      expect(again.status).toBe(409);
      expectDocumented('post', path, again);
      const unknown = await resolve(staff.operator, unknownId, { note: 'Who?' });
      expect(unknown.status).toBe(404);
      expectDocumented('post', path, unknown);
    });

    it('GET /api/admin/webhook-events, POST /webhook-events/{id}/replay: 200; 400, 403, 404, 409', async () => {
      const sandbox = `http://127.0.0.1:${t.app.get(AppConfig).sandbox.port}`;
      // Paid, and left to Stripe's events: checkout.session.completed pays the order (applied, so
      // not replayed); charge.succeeded is received and ignored (replayed).
      const order = await placeOrder(t);
      const { url } = await startCheckout(t, order);
      expect((await payWithCard(url, { number: TEST_CARDS.success })).status).toBe(303);
      const inLedger = async (type: string, matches: (row: LedgerRow) => boolean) => {
        for (const event of (await sandboxEvents(sandbox)).filter((e) => e.type === type)) {
          const row = await ledgerRow(t, event.id);
          if (row && matches(row)) return event;
        }
        return undefined;
      };
      const completed = await waitFor(
        () =>
          inLedger(
            'checkout.session.completed',
            (row) => row.order_id === order.id && row.outcome === 'applied',
          ),
        'the session event, applied',
      );
      const ignored = await waitFor(
        () => inLedger('charge.succeeded', (row) => row.outcome === 'ignored'),
        'charge.succeeded, ignored',
      );

      const list = await asStaff(t, staff.viewer, 'get', '/api/admin/webhook-events?outcome=ignored');
      expect((list.body as { items: { id: string }[] }).items.map((item) => item.id)).toContain(ignored.id);
      expectDocumented('get', '/api/admin/webhook-events', list);
      const badQuery = await asStaff(t, staff.viewer, 'get', '/api/admin/webhook-events?outcome=nope');
      expect(badQuery.status).toBe(400);
      expectDocumented('get', '/api/admin/webhook-events', badQuery);

      const path = '/api/admin/webhook-events/{id}/replay';
      const replay = (session: StaffLogin, id: string) =>
        asStaff(t, session, 'post', `/api/admin/webhook-events/${id}/replay`);
      const viewer = await replay(staff.viewer, ignored.id);
      expect(viewer.status).toBe(403);
      expectDocumented('post', path, viewer);
      const replayed = await replay(staff.operator, ignored.id);
      expect([replayed.status, replayed.body.eventId, replayed.body.previousOutcome]).toEqual([
        200,
        ignored.id,
        'ignored',
      ]);
      expectDocumented('post', path, replayed);
      const applied = await replay(staff.operator, completed.id);
      expect(applied.status).toBe(409);
      expectDocumented('post', path, applied);
      const notAnEvent = await replay(staff.operator, 'nope');
      expect(notAnEvent.status).toBe(400);
      expectDocumented('post', path, notAnEvent);
      const unknown = await replay(staff.operator, 'evt_neverSentByStripe');
      expect(unknown.status).toBe(404);
      expectDocumented('post', path, unknown);
    });

    it('GET /api/admin/audit (admins), /api/admin/dashboard: 200; 400, 401, 403', async () => {
      const audit = await asStaff(t, staff.admin, 'get', '/api/admin/audit?limit=5');
      expect([audit.status, audit.body.items.length]).toEqual([200, 5]);
      expectDocumented('get', '/api/admin/audit', audit);
      // A token, as a script would call it.
      const token = await issueToken(t, 'admin@openapi.test');
      const byToken = await anonymous('get', '/api/admin/audit?action=session.login').set(
        'Authorization',
        `Bearer ${token}`,
      );
      expect(byToken.body.items[0]).toMatchObject({ action: 'session.login', channel: 'session' });
      expectDocumented('get', '/api/admin/audit', byToken);
      const badQuery = await asStaff(t, staff.admin, 'get', '/api/admin/audit?action=DROP%20TABLE');
      expect(badQuery.status).toBe(400);
      expectDocumented('get', '/api/admin/audit', badQuery);
      const operator = await asStaff(t, staff.operator, 'get', '/api/admin/audit');
      expect(operator.status).toBe(403);
      expectDocumented('get', '/api/admin/audit', operator);

      const dashboard = await asStaff(t, staff.viewer, 'get', '/api/admin/dashboard');
      expect(dashboard.status).toBe(200);
      expectDocumented('get', '/api/admin/dashboard', dashboard);
      const anonymousDashboard = await anonymous('get', '/api/admin/dashboard');
      expect(anonymousDashboard.status).toBe(401);
      expectDocumented('get', '/api/admin/dashboard', anonymousDashboard);
    });
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
