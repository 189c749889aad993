import request from 'supertest';
import { createTestApp, type TestApp } from '../support/app';
import { countRows, truncateAll } from '../support/db';
import { placeOrder } from '../support/factories';
import {
  deliver,
  historyRows,
  orderRow,
  startCheckout,
  stubStripeEnv,
  transitions,
} from '../support/payments';
import { stripeEvent } from '../support/stripe-events';
import { StripeStub } from '../support/stripe-stub';
import { waitFor } from '../support/wait';

describe('Checkout', () => {
  let t: TestApp;
  const stub = new StripeStub();

  beforeAll(async () => {
    await stub.start();
    t = await createTestApp({ env: { ...stubStripeEnv(stub), PUBLIC_URL: 'https://shop.example.com' } });
  });
  afterAll(async () => {
    await t.close();
    await stub.stop();
  });
  beforeEach(async () => {
    stub.reset();
    await truncateAll(t.orm);
  });

  const auth = (token: string) => ({ Authorization: `Bearer ${token}` });
  const paymentRows = (orderId: string) =>
    t
      .em()
      .getConnection()
      .execute<{ attempt: number; status: string; session_id: string | null }[]>(
        'select attempt, status, session_id from payments where order_id = ? order by attempt',
        [orderId],
      );

  describe('POST /api/orders/:id/checkout', () => {
    it("creates a Checkout Session with the order's lines, URLs and a deterministic idempotency key", async () => {
      const order = await placeOrder(t, [
        { sku: 'BEANS-250', quantity: 2 },
        { sku: 'MUG-CERAMIC', quantity: 1 },
      ]);
      const before = Math.floor(Date.now() / 1000);
      const checkout = await startCheckout(t, order);

      expect(checkout.sessionId).toMatch(/^cs_test_/);
      expect(checkout.url).toContain(checkout.sessionId);
      const [create] = stub.creations();
      expect(create.headers['idempotency-key']).toBe(`checkout:${order.id}:1`);
      expect(create.headers.authorization).toBe('Bearer sk_test_stub_51TestKey');
      expect(create.headers['content-type']).toContain('application/x-www-form-urlencoded');
      const form = Object.fromEntries(create.form);
      expect(form).toMatchObject({
        mode: 'payment',
        'line_items[0][price_data][currency]': 'usd',
        'line_items[0][price_data][unit_amount]': '1450',
        'line_items[0][price_data][product_data][name]': 'Espresso beans, 250 g',
        'line_items[0][quantity]': '2',
        'line_items[1][price_data][unit_amount]': '1800',
        'line_items[1][quantity]': '1',
        success_url: `https://shop.example.com/checkout/success?orderId=${order.id}&session_id={CHECKOUT_SESSION_ID}`,
        cancel_url: `https://shop.example.com/checkout/cancel?orderId=${order.id}`,
        client_reference_id: order.id,
        customer_email: 'buyer@example.com',
        'metadata[orderId]': order.id,
        'payment_intent_data[metadata][orderId]': order.id,
      });
      const expiresAt = Number(form.expires_at);
      expect(expiresAt - before).toBeGreaterThanOrEqual(30 * 60);
      expect(expiresAt - before).toBeLessThanOrEqual(24 * 60 * 60);
      expect(new Date(checkout.expiresAt).getTime() / 1000).toBe(expiresAt);
      expect(await paymentRows(order.id)).toEqual([
        { attempt: 1, status: 'open', session_id: checkout.sessionId },
      ]);
    });

    it('returns the session still open instead of opening another', async () => {
      const order = await placeOrder(t);
      const first = await startCheckout(t, order);
      const second = await startCheckout(t, order);
      expect(second).toEqual(first);
      expect(stub.creations()).toHaveLength(1);
    });

    it('concurrent clicks share one session', async () => {
      const order = await placeOrder(t);
      const results = await Promise.all(Array.from({ length: 5 }, () => startCheckout(t, order)));
      expect(new Set(results.map((r) => r.sessionId)).size).toBe(1);
      expect(stub.sessions.size).toBe(1);
      expect(await paymentRows(order.id)).toHaveLength(1);
    });

    it('an answered Stripe error ends the attempt: 502 now, and the next click opens a new attempt with a new key', async () => {
      const order = await placeOrder(t);
      stub.failNext(500); // the SDK's own retry (same idempotency key) gets it replayed, as from Stripe
      const failed = await request(t.http())
        .post(`/api/orders/${order.id}/checkout`)
        .set(auth(order.accessToken))
        .expect(502);
      expect(failed.body).toMatchObject({
        code: 'PAYMENTS.PROVIDER_REFUSED',
        message: expect.stringMatching(/try again/),
      });
      expect(await orderRow(t, order.id)).toMatchObject({ status: 'pending' });

      const retried = await startCheckout(t, order);
      const keys = stub.creations().map((r) => r.headers['idempotency-key']);
      expect(keys).toEqual([`checkout:${order.id}:1`, `checkout:${order.id}:1`, `checkout:${order.id}:2`]);
      expect(stub.sessions.size).toBe(1);
      expect(await paymentRows(order.id)).toEqual([
        { attempt: 1, status: 'refused', session_id: null },
        { attempt: 2, status: 'open', session_id: retried.sessionId },
      ]);
    });

    it('a Stripe timeout answers 502, and the retry reaches the session Stripe made meanwhile', async () => {
      const order = await placeOrder(t);
      stub.hangNext();
      stub.hangNext();
      await request(t.http())
        .post(`/api/orders/${order.id}/checkout`)
        .set(auth(order.accessToken))
        .expect(502);
      const retried = await startCheckout(t, order);
      expect(stub.sessions.size).toBe(1);
      expect(stub.sessions.has(retried.sessionId)).toBe(true);
    });

    it('refuses a paid order and a canceled order with 409', async () => {
      const paid = await placeOrder(t);
      const { sessionId } = await startCheckout(t, paid);
      await deliver(
        t,
        stripeEvent('checkout.session.completed.paid', {
          orderId: paid.id,
          sessionId,
          amount: paid.totalAmount,
        }),
      ).expect(200);
      const refusal = await request(t.http())
        .post(`/api/orders/${paid.id}/checkout`)
        .set(auth(paid.accessToken))
        .expect(409);
      expect(refusal.body).toMatchObject({
        code: 'ORDERS.NOT_PAYABLE',
        message: 'The order is paid and cannot be paid',
      });

      const canceled = await placeOrder(t);
      await request(t.http())
        .post(`/api/orders/${canceled.id}/cancel`)
        .set(auth(canceled.accessToken))
        .expect(200);
      await request(t.http())
        .post(`/api/orders/${canceled.id}/checkout`)
        .set(auth(canceled.accessToken))
        .expect(409);
      expect(await paymentRows(canceled.id)).toEqual([]);
    });

    it('needs the order token (404 otherwise, nothing created)', async () => {
      const order = await placeOrder(t);
      await request(t.http()).post(`/api/orders/${order.id}/checkout`).expect(404);
      await request(t.http()).post(`/api/orders/${order.id}/checkout`).set(auth('wrong')).expect(404);
      expect(stub.creations()).toHaveLength(0);
      expect(await countRows(t.orm, 'payments')).toBe(0);
    });

    it('after an expiry, a new checkout is a new attempt with its own key, and the order is pending again', async () => {
      const order = await placeOrder(t);
      const first = await startCheckout(t, order);
      await deliver(
        t,
        stripeEvent('checkout.session.expired', {
          orderId: order.id,
          sessionId: first.sessionId,
          amount: order.totalAmount,
        }),
      ).expect(200);
      expect(await orderRow(t, order.id)).toMatchObject({ status: 'failed' });

      const second = await startCheckout(t, order);
      expect(second.sessionId).not.toBe(first.sessionId);
      expect(stub.creations().at(-1)?.headers['idempotency-key']).toBe(`checkout:${order.id}:2`);
      expect(await paymentRows(order.id)).toEqual([
        { attempt: 1, status: 'expired', session_id: first.sessionId },
        { attempt: 2, status: 'open', session_id: second.sessionId },
      ]);
      expect(await transitions(t, order.id)).toEqual(['∅→pending', 'pending→failed', 'failed→pending']);
    });

    it('after a decline, retrying reuses the session (still open at Stripe) and shows the order pending', async () => {
      const order = await placeOrder(t);
      const first = await startCheckout(t, order);
      await deliver(
        t,
        stripeEvent('payment_intent.payment_failed', {
          orderId: order.id,
          sessionId: first.sessionId,
          amount: order.totalAmount,
        }),
      ).expect(200);
      expect(await orderRow(t, order.id)).toMatchObject({
        status: 'failed',
        status_reason: 'Your card was declined.',
      });

      const again = await startCheckout(t, order);
      expect(again.sessionId).toBe(first.sessionId);
      expect(await orderRow(t, order.id)).toMatchObject({ status: 'pending' });
    });

    it('a decline is matched to its attempt by the id on its payment, not by timing: an older attempt is recorded only', async () => {
      const order = await placeOrder(t);
      stub.failNext(500);
      await request(t.http())
        .post(`/api/orders/${order.id}/checkout`)
        .set(auth(order.accessToken))
        .expect(502);
      const { sessionId } = await startCheckout(t, order);
      const [refused] = await t
        .em()
        .getConnection()
        .execute<{ id: string }[]>('select id from payments where order_id = ? and attempt = 1', [order.id]);
      await deliver(
        t,
        stripeEvent('payment_intent.payment_failed', {
          orderId: order.id,
          sessionId,
          amount: order.totalAmount,
          attemptId: refused.id,
        }),
      ).expect(200);
      expect(await orderRow(t, order.id)).toMatchObject({ status: 'pending' });
      expect((await historyRows(t, order.id)).at(-1)?.reason).toContain('checkout attempt 1 already refused');
    });
  });

  describe('POST /api/orders/:id/cancel with a session open', () => {
    it('expires the session at Stripe', async () => {
      const order = await placeOrder(t);
      const { sessionId } = await startCheckout(t, order);
      await request(t.http()).post(`/api/orders/${order.id}/cancel`).set(auth(order.accessToken)).expect(200);
      // A durable reaction (the outbox), after the commit: shortly after the response.
      await waitFor(
        () =>
          stub.requests.some(
            (r) => r.method === 'POST' && r.path === `/v1/checkout/sessions/${sessionId}/expire`,
          ),
        'the session to be expired at Stripe',
      );
      expect(stub.sessions.get(sessionId)?.status).toBe('expired');
    });

    it('a payment that still arrives for the canceled order is kept for review, never lost', async () => {
      const order = await placeOrder(t);
      const { sessionId } = await startCheckout(t, order);
      stub.update(sessionId, { status: 'complete', payment_status: 'paid' }); // paid just before the cancel
      await request(t.http()).post(`/api/orders/${order.id}/cancel`).set(auth(order.accessToken)).expect(200);
      await deliver(
        t,
        stripeEvent('checkout.session.completed.paid', {
          orderId: order.id,
          sessionId,
          amount: order.totalAmount,
        }),
      ).expect(200);
      expect(await orderRow(t, order.id)).toMatchObject({
        status: 'canceled',
        needs_review: true,
        review_reason: expect.stringContaining('refund'),
      });
    });
  });

  describe('POST /api/orders/:id/checkout/confirm (the success page)', () => {
    it('asks Stripe and applies the answer before the webhook; the webhook then changes nothing', async () => {
      const order = await placeOrder(t);
      const { sessionId } = await startCheckout(t, order);
      stub.update(sessionId, { status: 'complete', payment_status: 'paid', payment_intent: 'pi_test_1' });

      const confirmed = await request(t.http())
        .post(`/api/orders/${order.id}/checkout/confirm`)
        .set(auth(order.accessToken))
        .send({ sessionId })
        .expect(200);
      expect(confirmed.body).toMatchObject({ id: order.id, status: 'paid', reason: null });
      expect((await historyRows(t, order.id)).at(-1)).toMatchObject({
        to_status: 'paid',
        source_kind: 'redirect',
        source_ref: sessionId,
      });

      const webhook = await deliver(
        t,
        stripeEvent('checkout.session.completed.paid', {
          orderId: order.id,
          sessionId,
          amount: order.totalAmount,
        }),
      ).expect(200);
      expect(webhook.body.outcome).toBe('ignored');
      expect(await transitions(t, order.id)).toEqual(['∅→pending', 'pending→paid']);
      expect(await historyRows(t, order.id)).toHaveLength(2);
    });

    it('a delayed payment shows processing, then the settled state once Stripe knows it', async () => {
      const order = await placeOrder(t);
      const { sessionId } = await startCheckout(t, order);
      stub.update(sessionId, {
        status: 'complete',
        payment_status: 'unpaid',
        payment_intent: { id: 'pi_test_2', object: 'payment_intent', status: 'processing' },
      });
      const confirm = () =>
        request(t.http())
          .post(`/api/orders/${order.id}/checkout/confirm`)
          .set(auth(order.accessToken))
          .send({ sessionId })
          .expect(200);
      expect((await confirm()).body.status).toBe('processing');

      stub.update(sessionId, {
        payment_intent: { id: 'pi_test_2', object: 'payment_intent', status: 'succeeded' },
      });
      expect((await confirm()).body.status).toBe('paid');
    });

    it('an open session leaves the order as it is', async () => {
      const order = await placeOrder(t);
      const { sessionId } = await startCheckout(t, order);
      const response = await request(t.http())
        .post(`/api/orders/${order.id}/checkout/confirm`)
        .set(auth(order.accessToken))
        .send({ sessionId })
        .expect(200);
      expect(response.body.status).toBe('pending');
    });

    it("refuses a session that is not this order's, and a malformed one", async () => {
      const order = await placeOrder(t);
      const other = await placeOrder(t);
      const { sessionId } = await startCheckout(t, other);
      const refused = await request(t.http())
        .post(`/api/orders/${order.id}/checkout/confirm`)
        .set(auth(order.accessToken))
        .send({ sessionId })
        .expect(404);
      expect(refused.body).toMatchObject({ code: 'PAYMENTS.UNKNOWN_SESSION' });
      const malformed = await request(t.http())
        .post(`/api/orders/${order.id}/checkout/confirm`)
        .set(auth(order.accessToken))
        .send({ sessionId: 'DROP TABLE orders' })
        .expect(400);
      expect(malformed.body.errors).toEqual([expect.objectContaining({ field: 'sessionId' })]);
    });
  });
});
