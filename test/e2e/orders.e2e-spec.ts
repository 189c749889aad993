import request from 'supertest';
import { createTestApp, type TestApp } from '../support/app';
import { countRows, truncateAll } from '../support/db';
import { placeOrder, productBySku, products } from '../support/factories';

describe('Orders API', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(() => t.close());
  beforeEach(() => truncateAll(t.orm));

  const auth = (token: string) => ({ Authorization: `Bearer ${token}` });

  describe('GET /api/products', () => {
    it('lists the seeded catalog with server-side prices in minor units', async () => {
      const list = await products(t);
      expect(list.map((p) => p.sku).sort()).toEqual(
        ['BEANS-250', 'KETTLE-POUR', 'MATCHA-30', 'MUG-CERAMIC', 'STROOP-TIN'].sort(),
      );
      expect(list.find((p) => p.sku === 'BEANS-250')).toMatchObject({ unitAmount: 1450, currency: 'usd' });
      expect(list.find((p) => p.sku === 'MATCHA-30')).toMatchObject({ unitAmount: 2400, currency: 'jpy' });
    });
  });

  describe('POST /api/orders', () => {
    it('creates a pending order priced on the server, with an access token', async () => {
      const beans = await productBySku(t, 'BEANS-250');
      const mug = await productBySku(t, 'MUG-CERAMIC');

      const response = await request(t.http())
        .post('/api/orders')
        .send({
          customerEmail: 'Buyer@Example.com',
          items: [
            { productId: beans.id, quantity: 2 },
            { productId: mug.id, quantity: 1 },
          ],
        })
        .expect(201);

      expect(response.body).toMatchObject({
        status: 'pending',
        reason: null,
        currency: 'usd',
        totalAmount: 2 * 1450 + 1800,
        customerEmail: 'buyer@example.com',
        items: [
          { productId: beans.id, name: beans.name, quantity: 2, unitAmount: 1450, lineAmount: 2900 },
          { productId: mug.id, name: mug.name, quantity: 1, unitAmount: 1800, lineAmount: 1800 },
        ],
      });
      expect(response.body.id).toMatch(/^[0-9a-f-]{36}$/);
      expect(response.body.accessToken).toMatch(/^[\w-]{43}$/);
      expect(new Date(response.body.createdAt).getTime()).not.toBeNaN();

      const [row] = await t
        .em()
        .getConnection()
        .execute(`select status, total_amount, total_currency, access_token_hash from orders where id = ?`, [
          response.body.id,
        ]);
      expect(row).toMatchObject({ status: 'pending', total_amount: 4700, total_currency: 'usd' });
      expect(row.access_token_hash).not.toContain(response.body.accessToken);
      expect(await countRows(t.orm, 'order_items')).toBe(2);
    });

    it('writes the first history row and, in the same commit, the announcement in the outbox', async () => {
      const order = await placeOrder(t);
      // Written by the transaction that stored the order: present as soon as the response is.
      const announced = await t
        .em()
        .getConnection()
        .execute<{ name: string; subscriber: string }[]>(
          `select e.name, d.subscriber from outbox_events e join outbox_deliveries d on d.event_id = e.id
            where e.payload->>'orderId' = ? order by e.name, d.subscriber`,
          [order.id],
        );
      // Announced once, as placed: its status has not changed yet.
      expect(announced).toEqual([{ name: 'orders.placed', subscriber: 'staff.push-order-placed' }]);
      const [event] = await t
        .em()
        .getConnection()
        .execute<{ payload: Record<string, unknown> }[]>(
          `select payload from outbox_events where name = 'orders.placed' and payload->>'orderId' = ?`,
          [order.id],
        );
      expect(event.payload).toMatchObject({ orderId: order.id, totalAmount: 4700, currency: 'usd' });

      const history = await request(t.http())
        .get(`/api/orders/${order.id}/history`)
        .set(auth(order.accessToken))
        .expect(200);
      expect(history.body).toEqual([
        expect.objectContaining({ from: null, to: 'pending', reason: 'Order placed', source: 'api' }),
      ]);
    });

    it('prices a zero-decimal currency in whole units', async () => {
      const order = await placeOrder(t, [{ sku: 'MATCHA-30', quantity: 3 }]);
      expect(order).toMatchObject({ currency: 'jpy', totalAmount: 7200 });
    });
  });

  describe('bad input gets a clear error and writes nothing', () => {
    let beansId: string;
    let stroopId: string;
    beforeAll(async () => {
      beansId = (await productBySku(t, 'BEANS-250')).id;
      stroopId = (await productBySku(t, 'STROOP-TIN')).id;
    });

    const valid = () => ({
      customerEmail: 'buyer@example.com',
      items: [{ productId: beansId, quantity: 1 }],
    });

    const cases: [string, number, string, () => object][] = [
      ['an unknown field', 400, 'totalAmount', () => ({ ...valid(), totalAmount: 1 })],
      ['an unknown field in an item', 400, 'items[0].unitAmount', () => ({ ...valid(), items: [{ productId: beansId, quantity: 1, unitAmount: 1 }] })],
      ['a malformed email', 400, 'customerEmail', () => ({ ...valid(), customerEmail: 'not-an-email' })],
      ['a missing email', 400, 'customerEmail', () => ({ items: valid().items })],
      ['no items', 400, 'items', () => ({ ...valid(), items: [] })],
      ['items that are not a list', 400, 'items', () => ({ ...valid(), items: 'beans' })],
      ['quantity 0', 400, 'items[0].quantity', () => ({ ...valid(), items: [{ productId: beansId, quantity: 0 }] })],
      ['quantity 101', 400, 'items[0].quantity', () => ({ ...valid(), items: [{ productId: beansId, quantity: 101 }] })],
      ['a fractional quantity', 400, 'items[0].quantity', () => ({ ...valid(), items: [{ productId: beansId, quantity: 1.5 }] })],
      ['a quantity given as text', 400, 'items[0].quantity', () => ({ ...valid(), items: [{ productId: beansId, quantity: '2' }] })],
      ['a malformed product id', 400, 'items[0].productId', () => ({ ...valid(), items: [{ productId: 'beans', quantity: 1 }] })],
      ['the same product twice', 400, 'items', () => ({ ...valid(), items: [{ productId: beansId, quantity: 1 }, { productId: beansId, quantity: 2 }] })],
      ['an unknown product', 422, 'items[0].productId', () => ({ ...valid(), items: [{ productId: '00000000-0000-4000-8000-000000000000', quantity: 1 }] })],
      ['items in different currencies', 422, 'items[1].productId', () => ({ ...valid(), items: [{ productId: beansId, quantity: 1 }, { productId: stroopId, quantity: 1 }] })],
    ]; // prettier-ignore

    it.each(cases)('%s → %i naming %s', async (_name, status, field, body) => {
      const response = await request(t.http()).post('/api/orders').send(body()).expect(status);
      expect(response.body.statusCode).toBe(status);
      expect(response.body.code).toEqual(expect.any(String));
      expect(response.body.errors).toEqual(expect.arrayContaining([expect.objectContaining({ field })]));
      expect(JSON.stringify(response.body)).not.toMatch(/\bat \w+ \(|stack/i);
      expect(await countRows(t.orm, 'orders')).toBe(0);
    });

    it('refuses malformed JSON with 400', async () => {
      const response = await request(t.http())
        .post('/api/orders')
        .set('Content-Type', 'application/json')
        .send('{"customerEmail": "buyer@example.com", "items": [')
        .expect(400);
      expect(response.body).toMatchObject({ statusCode: 400, code: 'HTTP.BAD_REQUEST' });
      expect(JSON.stringify(response.body)).not.toMatch(/\bat \w+ \(|stack/i);
      expect(await countRows(t.orm, 'orders')).toBe(0);
    });

    it('refuses a body over the size limit with 413', async () => {
      const response = await request(t.http())
        .post('/api/orders')
        .send({ ...valid(), padding: 'x'.repeat(200 * 1024) })
        .expect(413);
      expect(response.body).toMatchObject({ statusCode: 413, code: 'HTTP.PAYLOAD_TOO_LARGE' });
      expect(await countRows(t.orm, 'orders')).toBe(0);
    });

    it('refuses a body that is not an object', async () => {
      await request(t.http()).post('/api/orders').send([valid()]).expect(400);
      expect(await countRows(t.orm, 'orders')).toBe(0);
    });
  });

  describe('GET /api/orders/:id', () => {
    it('returns the order to the holder of its token', async () => {
      const order = await placeOrder(t);
      const response = await request(t.http())
        .get(`/api/orders/${order.id}`)
        .set(auth(order.accessToken))
        .expect(200);
      expect(response.body).toMatchObject({
        id: order.id,
        status: 'pending',
        totalAmount: order.totalAmount,
      });
      expect(response.body).not.toHaveProperty('accessToken');
      expect(response.body).not.toHaveProperty('accessTokenHash');
    });

    it('answers a wrong token, a missing token and an unknown id exactly alike', async () => {
      const order = await placeOrder(t);
      const other = await placeOrder(t);
      const answers = await Promise.all([
        request(t.http()).get(`/api/orders/${order.id}`).set(auth(other.accessToken)),
        request(t.http()).get(`/api/orders/${order.id}`),
        request(t.http()).get(`/api/orders/${order.id}`).set('Authorization', order.accessToken),
        request(t.http())
          .get('/api/orders/00000000-0000-4000-8000-000000000000')
          .set(auth(order.accessToken)),
        request(t.http()).get(`/api/orders/${order.id}/history`).set(auth(other.accessToken)),
      ]);
      for (const answer of answers) {
        expect(answer.status).toBe(404);
        expect(answer.body).toMatchObject({
          statusCode: 404,
          code: 'ORDERS.NOT_FOUND',
          message: 'Order not found',
        });
      }
    });

    it('refuses a malformed id with 400 naming the field', async () => {
      const response = await request(t.http()).get('/api/orders/not-a-uuid').expect(400);
      expect(response.body.errors).toEqual([{ field: 'id', message: 'id must be a UUID' }]);
    });
  });

  describe('POST /api/orders/:id/cancel', () => {
    it('cancels a pending order and records the transition', async () => {
      const order = await placeOrder(t);
      const response = await request(t.http())
        .post(`/api/orders/${order.id}/cancel`)
        .set(auth(order.accessToken))
        .expect(200);
      expect(response.body).toMatchObject({
        id: order.id,
        status: 'canceled',
        reason: 'Canceled by the customer',
      });

      const history = await request(t.http())
        .get(`/api/orders/${order.id}/history`)
        .set(auth(order.accessToken))
        .expect(200);
      expect((history.body as { from: string; to: string }[]).map((h) => [h.from, h.to])).toEqual([
        [null, 'pending'],
        ['pending', 'canceled'],
      ]);
    });

    it('is harmless when repeated', async () => {
      const order = await placeOrder(t);
      for (let i = 0; i < 2; i++) {
        await request(t.http())
          .post(`/api/orders/${order.id}/cancel`)
          .set(auth(order.accessToken))
          .expect(200);
      }
      expect(await countRows(t.orm, 'order_history')).toBe(2);
    });

    it('needs the token, and changes nothing without it', async () => {
      const order = await placeOrder(t);
      await request(t.http()).post(`/api/orders/${order.id}/cancel`).expect(404);
      const [row] = await t
        .em()
        .getConnection()
        .execute('select status from orders where id = ?', [order.id]);
      expect(row.status).toBe('pending');
    });

    it('refuses a paid order with 409', async () => {
      const order = await placeOrder(t);
      await t.em().getConnection().execute(`update orders set status = 'paid' where id = ?`, [order.id]);
      const response = await request(t.http())
        .post(`/api/orders/${order.id}/cancel`)
        .set(auth(order.accessToken))
        .expect(409);
      expect(response.body).toMatchObject({ code: 'ORDERS.NOT_CANCELABLE' });
    });
  });

  describe('service endpoints', () => {
    it('answers liveness and readiness', async () => {
      await request(t.http())
        .get('/api/health')
        .expect(200, { status: 'ok', info: {}, error: {}, details: {} });
      const ready = await request(t.http()).get('/api/health/ready').expect(200);
      expect(ready.body.details.database.status).toBe('up');
    });

    it('serves the OpenAPI document', async () => {
      const response = await request(t.http()).get('/api/docs-json').expect(200);
      expect(Object.keys(response.body.paths)).toEqual(
        expect.arrayContaining([
          '/api/products',
          '/api/orders',
          '/api/orders/{id}',
          '/api/orders/{id}/cancel',
        ]),
      );
    });

    it('echoes a request id', async () => {
      const response = await request(t.http()).get('/api/health').set('X-Request-Id', 'abc-123').expect(200);
      expect(response.headers['x-request-id']).toBe('abc-123');
    });
  });
});

describe('Rate limit on order creation', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ env: { RATE_LIMIT_PER_MINUTE: '2', TRUST_PROXY: '1' } });
  });
  afterAll(() => t.close());

  it('answers 429 past the per-minute limit of a client', async () => {
    await placeOrder(t);
    await placeOrder(t);
    const beans = await productBySku(t, 'BEANS-250');
    const response = await request(t.http())
      .post('/api/orders')
      .send({ customerEmail: 'buyer@example.com', items: [{ productId: beans.id, quantity: 1 }] })
      .expect(429);
    expect(response.body).toMatchObject({ statusCode: 429, code: 'HTTP.TOO_MANY_REQUESTS' });
    expect(response.headers['retry-after']).toBeDefined();
  });

  it('counts each client behind the load balancer on its own (X-Forwarded-For, TRUST_PROXY=1)', async () => {
    const beans = await productBySku(t, 'BEANS-250');
    const place = (client: string) =>
      request(t.http())
        .post('/api/orders')
        .set('X-Forwarded-For', client)
        .send({ customerEmail: 'buyer@example.com', items: [{ productId: beans.id, quantity: 1 }] });
    expect((await place('203.0.113.7')).status).toBe(201);
    expect((await place('203.0.113.7')).status).toBe(201);
    expect((await place('203.0.113.7')).status).toBe(429);
    expect((await place('198.51.100.4')).status).toBe(201);
  });
});
