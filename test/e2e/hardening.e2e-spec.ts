import { createHash, randomUUID } from 'node:crypto';
import request from 'supertest';
import { AppConfig } from '../../src/config';
import { createTestApp, type TestApp } from '../support/app';
import { countRows, truncateAll } from '../support/db';
import { placeOrder, productBySku } from '../support/factories';
import { stubStripeEnv } from '../support/payments';
import { catalog, placeOrderAt } from '../support/service-api';
import { startService } from '../support/service-process';
import { stripeEvent } from '../support/stripe-events';
import { signWithStripe } from '../support/stripe-signature';
import { StripeStub } from '../support/stripe-stub';
import { OrdersClient } from '../support/sockets';
import { waitFor } from '../support/wait';

/**
 * Bad input and noisy clients: answers in the error shape, never a 500; security headers on the
 * API and its documentation; per-address and per-socket limits on live status; nothing personal in
 * debug logs.
 */
describe('Hardening', () => {
  let t: TestApp;
  let baseUrl: string;

  beforeAll(async () => {
    t = await createTestApp({
      listen: true,
      env: { SOCKET_MAX_CONNECTIONS_PER_IP: '3', SOCKET_MESSAGES_PER_MINUTE: '5' },
    });
    baseUrl = `http://127.0.0.1:${t.app.get(AppConfig).port}`;
  });
  afterAll(() => t.close());
  beforeEach(() => truncateAll(t.orm));

  const postOrder = async (json: string) =>
    request(t.http()).post('/api/orders').set('Content-Type', 'application/json').send(json);

  it('a lone UTF-16 surrogate in the e-mail: 400 naming the field, nothing stored', async () => {
    const productId = (await productBySku(t, 'BEANS-250')).id;
    // JSON's own escape: what a client that mangles a surrogate pair sends.
    const answer = await postOrder(
      `{"customerEmail": "buyer\\ud83d@example.com", "items": [{"productId": "${productId}", "quantity": 1}]}`,
    );
    expect(answer.status).toBe(400);
    expect(answer.body).toMatchObject({
      code: 'REQUEST.INVALID',
      errors: [{ field: 'customerEmail', message: 'must be valid Unicode text' }],
    });
    expect(await countRows(t.orm, 'orders')).toBe(0);
  });

  it('deeply nested items: 400 before validation, nothing stored', async () => {
    const answer = await postOrder(
      `{"customerEmail": "a@example.com", "items": ${'['.repeat(5000)}${']'.repeat(5000)}}`,
    );
    expect(answer.status).toBe(400);
    expect(answer.body).toMatchObject({
      code: 'REQUEST.INVALID',
      errors: [{ field: expect.stringMatching(/^items/), message: expect.stringContaining('nested deeper') }],
    });
    expect(await countRows(t.orm, 'orders')).toBe(0);
  });

  it('security headers on the API and its documentation, which still loads its scripts', async () => {
    const api = await request(t.http()).get('/api/products').expect(200);
    expect(api.headers['content-security-policy']).toContain("default-src 'none'");
    expect(api.headers['x-content-type-options']).toBe('nosniff');
    expect(api.headers['strict-transport-security']).toBeDefined();

    const docs = await request(t.http()).get('/api/docs').redirects(1).expect(200);
    const csp = docs.headers['content-security-policy'];
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    const scripts = [...docs.text.matchAll(/<script([^>]*)>([\s\S]*?)<\/script>/g)];
    expect(scripts.length).toBeGreaterThan(0);
    for (const [, attributes, inline] of scripts) {
      // Inline script would be blocked by that policy: every script is a file of its own.
      expect(inline.trim()).toBe('');
      const src = /src="\.?\/?([^"]+)"/.exec(attributes)![1];
      await request(t.http()).get(`/api/docs/${src}`).expect(200);
    }
  });

  it('live status: at most SOCKET_MAX_CONNECTIONS_PER_IP sockets from one address', async () => {
    const order = await placeOrder(t);
    const auth = { orderId: order.id, token: order.accessToken };
    const admitted = await Promise.all([1, 2, 3].map(() => OrdersClient.connect(baseUrl, auth)));
    try {
      const refused = await OrdersClient.refusal(baseUrl, auth);
      expect(refused.message).toEqual(expect.any(String));
      admitted.pop()!.close();
      // One closed: one more is welcome.
      const again = await waitUntilAdmitted(baseUrl, auth);
      again.close();
    } finally {
      admitted.forEach((client) => client.close());
    }
  });

  it('live status: messages over SOCKET_MESSAGES_PER_MINUTE are refused, then the socket is cut', async () => {
    const order = await placeOrder(t);
    const auth = { orderId: order.id, token: order.accessToken };
    const client = await OrdersClient.connect(baseUrl, auth);
    try {
      const answers = [];
      for (let i = 0; i < 6; i++) answers.push(await client.subscribe(auth));
      expect(answers.slice(0, 5).every((answer) => answer.ok)).toBe(true);
      expect(answers[5]).toEqual({ ok: false, error: { code: 'RATE_LIMITED', message: expect.any(String) } });
      const cut = client.disconnected();
      for (let i = 0; i < 5; i++) client.socket.emit('orders.subscribe', auth);
      expect(await cut).toBe('io server disconnect');
      // Everyone else is served as before.
      await request(t.http()).get('/api/products').expect(200);
    } finally {
      client.close();
    }
  });
});

describe('Logs of the webhook route (served ahead of Express)', () => {
  it("carry the delivery's request id; a refusal is logged once at warn, without the signature", async () => {
    const stub = new StripeStub();
    await stub.start();
    const service = await startService({ ...stubStripeEnv(stub), LOG_LEVEL: 'info' });
    try {
      const body = stripeEvent('checkout.session.expired', {
        orderId: randomUUID(),
        sessionId: 'cs_test_logged',
        amount: 100,
      });
      const deliver = (signature: string, requestId: string) =>
        fetch(`${service.url}/api/webhooks/stripe`, {
          method: 'POST',
          headers: {
            'Content-Type': 'application/json',
            'Stripe-Signature': signature,
            'X-Request-Id': requestId,
          },
          body,
        });
      expect((await deliver(signWithStripe(body), 'delivery-logged-1')).status).toBe(200);
      expect((await deliver('t=1,v1=00', 'delivery-refused-1')).status).toBe(400);

      const linesOf = (requestId: string) =>
        service
          .output()
          .split('\n')
          .filter((line) => line.includes(`"id":"${requestId}"`))
          .map((line) => JSON.parse(line) as Record<string, unknown>);
      // Log lines leave asynchronously, after the response may have: wait for the refusal's last one.
      await waitFor(() => linesOf('delivery-refused-1').length === 2, "the refusal's two lines");
      const [applied, ...more] = linesOf('delivery-logged-1');
      expect(more).toEqual([]); // a delivery taken is logged once, by the intake, not again per request
      expect(applied).toMatchObject({
        level: 30,
        req: { id: 'delivery-logged-1', method: 'POST', url: '/api/webhooks/stripe' },
        outcome: 'unmatched',
        msg: expect.stringContaining('Webhook checkout.session.expired: unmatched'),
      });
      const refused = linesOf('delivery-refused-1');
      expect(refused).toEqual([
        expect.objectContaining({
          level: 40,
          msg: 'Webhook rejected',
          req: expect.objectContaining({ id: 'delivery-refused-1' }),
        }),
        expect.objectContaining({ level: 40, res: { statusCode: 400 }, responseTime: expect.any(Number) }),
      ]);
      expect(service.output()).not.toContain('v1=00');
    } finally {
      await service.stop();
      await stub.stop();
    }
  });
});

async function waitUntilAdmitted(baseUrl: string, auth: object): Promise<OrdersClient> {
  // The server learns of the close when the socket's connection ends: try until it has.
  for (let attempt = 0; ; attempt++) {
    try {
      return await OrdersClient.connect(baseUrl, auth);
    } catch (error) {
      if (attempt >= 50) throw error;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

describe('Logs at LOG_LEVEL=debug', () => {
  it('show the queries, but neither the e-mail nor the access token hash', async () => {
    const service = await startService({ LOG_LEVEL: 'debug' });
    try {
      const [product] = await catalog(service.url);
      const order = await placeOrderAt(service.url, product.id);
      const tokenHash = createHash('sha256').update(order.accessToken).digest('hex');
      // Log lines leave asynchronously, after the response may have: wait for the request's last one.
      const logs = await waitFor(() => {
        const output = service.output();
        return output.includes('"url":"/api/orders"},"res":{"statusCode":201}') && output;
      }, 'the order request in the log');
      expect(logs).toContain('insert into \\"orders\\"'); // debug logging is on
      expect(logs).not.toContain('buyer@example.com');
      expect(logs).not.toContain(tokenHash);
      expect(logs).not.toContain(order.accessToken);
    } finally {
      await service.stop();
    }
  });
});
