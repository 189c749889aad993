import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Stripe from 'stripe';
import {
  payWithCard,
  sandboxStripe,
  startTestSandbox,
  TEST_CARDS,
  type TestSandbox,
} from '../support/sandbox';

/**
 * The sandbox's API through the real stripe SDK: what the service's adapter sends, every error
 * Stripe would answer to it, idempotent replays, listing by PaymentIntent, expiry.
 */
describe('Stripe sandbox API', () => {
  let sandbox: TestSandbox;
  let stripe: Stripe;

  beforeAll(async () => {
    sandbox = await startTestSandbox();
    stripe = sandbox.stripe;
  });
  afterAll(() => sandbox.close());

  const fixtureSession = JSON.parse(
    readFileSync(join(__dirname, '../fixtures/stripe-events/checkout.session.completed.paid.json'), 'utf8'),
  ).data.object as Record<string, unknown>;
  const nowSeconds = () => Math.floor(Date.now() / 1000);

  /** The parameters the service's Stripe adapter sends for an order of two bags of beans and a mug. */
  function adapterParams(orderId: string, overrides: Partial<Stripe.Checkout.SessionCreateParams> = {}) {
    return {
      mode: 'payment',
      line_items: [
        { price_data: { currency: 'usd', unit_amount: 1450, product_data: { name: 'Espresso beans, 250 g' } }, quantity: 2 },
        { price_data: { currency: 'usd', unit_amount: 1800, product_data: { name: 'Ceramic mug' } }, quantity: 1 },
      ],
      success_url: 'http://localhost:3000/checkout/success?session_id={CHECKOUT_SESSION_ID}',
      cancel_url: `http://localhost:3000/checkout/cancel?orderId=${orderId}`,
      client_reference_id: orderId,
      customer_email: 'buyer@example.com',
      metadata: { orderId },
      payment_intent_data: { metadata: { orderId } },
      expires_at: nowSeconds() + 31 * 60,
      ...overrides,
    } satisfies Stripe.Checkout.SessionCreateParams; // prettier-ignore
  }

  async function allSessions(): Promise<Stripe.Checkout.Session[]> {
    return (await stripe.checkout.sessions.list({ limit: 100 })).data;
  }

  describe('authentication', () => {
    it('answers 401 without an API key, in Stripe words', async () => {
      const response = await fetch(`${sandbox.baseUrl}/v1/checkout/sessions`, { method: 'POST' });
      expect(response.status).toBe(401);
      const body = (await response.json()) as { error: { type: string; message: string } };
      expect(body.error.type).toBe('invalid_request_error');
      expect(body.error.message).toMatch(/^You did not provide an API key\./);
    });

    it('answers 401 to a wrong key, which the SDK reports as an authentication error', async () => {
      const wrong = sandboxStripe(sandbox.baseUrl, 'sk_test_not_the_sandbox_key_1234');
      const error = await wrong.checkout.sessions
        .create(adapterParams(randomUUID()))
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(Stripe.errors.StripeAuthenticationError);
      expect(error).toMatchObject({
        statusCode: 401,
        message: expect.stringMatching(/^Invalid API Key provided: sk_test_\*+1234$/),
      });
    });
  });

  describe('Checkout Sessions', () => {
    it('creates a session from what the adapter sends, with Stripe fields, id format and hosted url', async () => {
      const orderId = randomUUID();
      const params = adapterParams(orderId);
      const session = await stripe.checkout.sessions.create(params, {
        idempotencyKey: `checkout:${orderId}:1`,
      });

      expect(session.id).toMatch(/^cs_test_[A-Za-z0-9]{58}$/);
      expect(Object.keys(session).sort()).toEqual(Object.keys(fixtureSession).sort());
      expect(session).toMatchObject({
        object: 'checkout.session',
        mode: 'payment',
        status: 'open',
        payment_status: 'unpaid',
        amount_subtotal: 4700,
        amount_total: 4700,
        currency: 'usd',
        client_reference_id: orderId,
        customer_email: 'buyer@example.com',
        metadata: { orderId },
        success_url: params.success_url,
        cancel_url: params.cancel_url,
        expires_at: params.expires_at,
        payment_intent: null,
        livemode: false,
        url: `${sandbox.baseUrl}/c/pay/${session.id}`,
        payment_method_types: ['card', 'link', 'us_bank_account'],
      });
      expect(session.created).toBeGreaterThanOrEqual(nowSeconds() - 5);
      expect(session.lastResponse.requestId).toMatch(/^req_\w+$/);

      const withItems = await stripe.checkout.sessions.retrieve(session.id, { expand: ['line_items'] });
      expect(
        withItems.line_items?.data.map((item) => [item.description, item.quantity, item.amount_total]),
      ).toEqual([
        ['Espresso beans, 250 g', 2, 2900],
        ['Ceramic mug', 1, 1800],
      ]);
      const items = await stripe.checkout.sessions.listLineItems(session.id);
      expect(items.data).toHaveLength(2);
    });

    it('retrieves a session, and answers 404 resource_missing for an unknown id', async () => {
      const created = await stripe.checkout.sessions.create(adapterParams(randomUUID()));
      const retrieved = await stripe.checkout.sessions.retrieve(created.id);
      expect(retrieved).toEqual(created);

      const error = await stripe.checkout.sessions.retrieve('cs_test_missing').catch((e: unknown) => e);
      expect(error).toBeInstanceOf(Stripe.errors.StripeInvalidRequestError);
      expect(error).toMatchObject({
        statusCode: 404,
        type: 'StripeInvalidRequestError',
        code: 'resource_missing',
        param: 'session',
        message: "No such checkout.session: 'cs_test_missing'",
      });
    });

    type Overrides = Partial<Stripe.Checkout.SessionCreateParams> & Record<string, unknown>;
    const line = (priceData: Record<string, unknown>, quantity = 1) => [
      {
        price_data: { currency: 'usd', unit_amount: 1450, product_data: { name: 'Beans' }, ...priceData },
        quantity,
      },
    ];
    const cases: [string, string, () => Overrides, RegExp][] = [
      ['expires_at under 30 minutes away', 'expires_at', () => ({ expires_at: nowSeconds() + 10 * 60 }), /^The `expires_at` timestamp must be at least 30 minutes from Checkout Session creation\.$/],
      ['expires_at over 24 hours away', 'expires_at', () => ({ expires_at: nowSeconds() + 25 * 3600 }), /^The `expires_at` timestamp must be less than 24 hours from Checkout Session creation\.$/],
      ['no success_url', 'success_url', () => ({ success_url: undefined }), /^Missing required param: success_url\.$/],
      ['a success_url that is not a URL', 'success_url', () => ({ success_url: 'checkout/success' }), /^Not a valid URL$/],
      ['a negative unit_amount', 'line_items[0][price_data][unit_amount]', () => ({ line_items: line({ unit_amount: -100 }) }), /greater than or equal to 0/],
      ['a fractional unit_amount', 'line_items[0][price_data][unit_amount]', () => ({ line_items: line({ unit_amount: 14.5 }) }), /^Invalid integer: 14\.5$/],
      ['an unknown currency', 'line_items[0][price_data][currency]', () => ({ line_items: line({ currency: 'xyz' }) }), /^Invalid currency: xyz\./],
      ['no product name', 'line_items[0][price_data][product_data][name]', () => ({ line_items: line({ product_data: { description: 'no name' } }) }), /^Missing required param/],
      ['no line items', 'line_items', () => ({ line_items: [] }), /at least one line item/],
      ['quantity 0', 'line_items[0][quantity]', () => ({ line_items: line({}, 0) }), /greater than or equal to 1/],
      ['a malformed customer_email', 'customer_email', () => ({ customer_email: 'not-an-email' }), /^Invalid email address: not-an-email$/],
      ['an unknown parameter', 'favourite_colour', () => ({ favourite_colour: 'blue' }), /^Received unknown parameter: favourite_colour$/],
      ['mode subscription', 'mode', () => ({ mode: 'subscription' }), /supports mode `payment` only/],
    ]; // prettier-ignore

    it.each(cases)(
      'refuses %s with 400 naming %s, and creates nothing',
      async (_name, param, overrides, message) => {
        const before = (await allSessions()).length;
        const params = {
          ...adapterParams(randomUUID()),
          ...overrides(),
        } as Stripe.Checkout.SessionCreateParams;
        const error = await stripe.checkout.sessions.create(params).catch((e: unknown) => e);
        expect(error).toBeInstanceOf(Stripe.errors.StripeInvalidRequestError);
        expect(error).toMatchObject({ statusCode: 400, type: 'StripeInvalidRequestError', param });
        expect((error as Stripe.errors.StripeError).message).toMatch(message);
        expect((error as Stripe.errors.StripeError).raw).toMatchObject({
          type: 'invalid_request_error',
          param,
        });
        expect((await allSessions()).length).toBe(before);
      },
    );

    it('refuses a total under the minimum charge', async () => {
      const error = await stripe.checkout.sessions
        .create(adapterParams(randomUUID(), { line_items: line({ unit_amount: 10 }) }))
        .catch((e: unknown) => e);
      expect(error).toMatchObject({
        statusCode: 400,
        message: expect.stringContaining('at least $0.50 usd'),
      });
    });
  });

  describe('idempotency', () => {
    it('replays the first response for the same key and parameters, flagged Idempotent-Replayed', async () => {
      const orderId = randomUUID();
      const params = adapterParams(orderId);
      const key = `checkout:${orderId}:1`;
      const first = await stripe.checkout.sessions.create(params, { idempotencyKey: key });
      const again = await stripe.checkout.sessions.create(params, { idempotencyKey: key });

      expect(again).toEqual(first);
      expect(first.lastResponse.headers['idempotent-replayed']).toBeUndefined();
      expect(again.lastResponse.headers['idempotent-replayed']).toBe('true');
      expect((await allSessions()).filter((s) => s.client_reference_id === orderId)).toHaveLength(1);
    });

    it('refuses the same key with other parameters: 400 idempotency_error', async () => {
      const orderId = randomUUID();
      const key = `checkout:${orderId}:1`;
      await stripe.checkout.sessions.create(adapterParams(orderId), { idempotencyKey: key });
      const error = await stripe.checkout.sessions
        .create(adapterParams(orderId, { customer_email: 'other@example.com' }), { idempotencyKey: key })
        .catch((e: unknown) => e);

      expect(error).toBeInstanceOf(Stripe.errors.StripeIdempotencyError);
      expect(error).toMatchObject({
        statusCode: 400,
        type: 'StripeIdempotencyError',
        message: expect.stringMatching(
          /^Keys for idempotent requests can only be used with the same parameters/,
        ),
      });
      expect((error as Stripe.errors.StripeError).raw).toMatchObject({ type: 'idempotency_error' });
      expect((await allSessions()).filter((s) => s.client_reference_id === orderId)).toHaveLength(1);
    });

    it('keeps no result for a request refused for its parameters, so the key can be used again', async () => {
      const orderId = randomUUID();
      const key = `checkout:${orderId}:1`;
      const refused = await stripe.checkout.sessions
        .create(adapterParams(orderId, { expires_at: nowSeconds() + 60 }), { idempotencyKey: key })
        .catch((e: unknown) => e);
      expect(refused).toMatchObject({ statusCode: 400, param: 'expires_at' });

      const created = await stripe.checkout.sessions.create(adapterParams(orderId), { idempotencyKey: key });
      expect(created.status).toBe('open');
    });
  });

  describe('listing and expiring', () => {
    it('lists the session of a PaymentIntent (created at the first attempt to pay)', async () => {
      const declined = await stripe.checkout.sessions.create(adapterParams(randomUUID()));
      const other = await stripe.checkout.sessions.create(adapterParams(randomUUID()));
      expect((await payWithCard(declined.url!, { number: TEST_CARDS.genericDecline })).status).toBe(402);

      const paymentIntent = (await stripe.checkout.sessions.retrieve(declined.id)).payment_intent as string;
      expect(paymentIntent).toMatch(/^pi_\w{24}$/);
      const listed = await stripe.checkout.sessions.list({ payment_intent: paymentIntent });
      expect(listed.object).toBe('list');
      expect(listed.data.map((s) => s.id)).toEqual([declined.id]);
      expect(listed.has_more).toBe(false);
      expect((await stripe.checkout.sessions.list({ payment_intent: 'pi_unknown' })).data).toEqual([]);

      const newestFirst = await stripe.checkout.sessions.list({ limit: 1 });
      expect(newestFirst.data.map((s) => s.id)).toEqual([other.id]);
      expect(newestFirst.has_more).toBe(true);
    });

    it('expires an open session; expiring one that is not open is a 400 in Stripe words', async () => {
      const session = await stripe.checkout.sessions.create(adapterParams(randomUUID()));
      const expired = await stripe.checkout.sessions.expire(session.id);
      expect(expired).toMatchObject({
        id: session.id,
        status: 'expired',
        payment_status: 'unpaid',
        url: null,
      });
      expect((await stripe.checkout.sessions.retrieve(session.id)).status).toBe('expired');

      const again = await stripe.checkout.sessions.expire(session.id).catch((e: unknown) => e);
      expect(again).toBeInstanceOf(Stripe.errors.StripeInvalidRequestError);
      expect(again).toMatchObject({
        statusCode: 400,
        message:
          'Only Checkout Sessions with a status in ["open"] can be expired. This Checkout Session has a status of `expired`.',
      });

      const paid = await stripe.checkout.sessions.create(adapterParams(randomUUID()));
      expect((await payWithCard(paid.url!, { number: TEST_CARDS.success })).status).toBe(303);
      const completeError = await stripe.checkout.sessions.expire(paid.id).catch((e: unknown) => e);
      expect(completeError).toMatchObject({
        statusCode: 400,
        message: expect.stringContaining('has a status of `complete`'),
      });

      const missing = await stripe.checkout.sessions.expire('cs_test_missing').catch((e: unknown) => e);
      expect(missing).toMatchObject({ statusCode: 404, code: 'resource_missing' });
    });
  });

  describe('products and prices (what the Stripe CLI creates)', () => {
    it('creates a product and a price, and a session that refers to the price', async () => {
      const product = await stripe.products.create({
        name: 'myproduct',
        description: '(created by Stripe CLI)',
      });
      expect(product).toMatchObject({ object: 'product', name: 'myproduct', active: true });
      expect(product.id).toMatch(/^prod_\w{14}$/);
      const price = await stripe.prices.create({ currency: 'usd', product: product.id, unit_amount: 1500 });
      expect(price).toMatchObject({
        object: 'price',
        product: product.id,
        unit_amount: 1500,
        type: 'one_time',
      });
      expect(price.id).toMatch(/^price_\w{24}$/);
      expect(await stripe.prices.retrieve(price.id)).toEqual(price);

      const session = await stripe.checkout.sessions.create({
        success_url: 'https://httpbin.org/post',
        cancel_url: 'https://httpbin.org/post',
        mode: 'payment',
        line_items: [{ price: price.id, quantity: 2 }],
        expand: ['line_items'],
      });
      expect(session.amount_total).toBe(3000);
      expect(session.line_items?.data[0]).toMatchObject({
        description: 'myproduct',
        quantity: 2,
        price: { id: price.id },
      });
      expect(session.expires_at - session.created).toBe(24 * 3600);
    });

    it('refuses an unknown price with 400 resource_missing', async () => {
      const error = await stripe.checkout.sessions
        .create({
          success_url: 'https://example.com/ok',
          mode: 'payment',
          line_items: [{ price: 'price_nope', quantity: 1 }],
        })
        .catch((e: unknown) => e);
      expect(error).toMatchObject({
        statusCode: 400,
        code: 'resource_missing',
        param: 'line_items[0][price]',
      });
    });

    it('answers an unknown URL with 404 in Stripe words', async () => {
      const response = await fetch(`${sandbox.baseUrl}/v1/subscriptions`, {
        headers: { Authorization: `Bearer ${'sk_test_sandbox_51OfflineOrderFlow'}` },
      });
      expect(response.status).toBe(404);
      expect(await response.json()).toMatchObject({
        error: {
          type: 'invalid_request_error',
          message: expect.stringMatching(/^Unrecognized request URL \(GET: \/v1\/subscriptions\)/),
        },
      });
    });
  });
});
