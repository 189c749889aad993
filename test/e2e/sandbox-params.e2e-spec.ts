import { randomUUID } from 'node:crypto';
import Stripe from 'stripe';
import { SANDBOX_SECRET_KEY } from '../../src/config';
import {
  payWithCard,
  startTestSandbox,
  startWebhookReceiver,
  TEST_CARDS,
  type TestSandbox,
  type WebhookReceiver,
} from '../support/sandbox';
import { waitFor } from '../support/wait';

/*
 * No silent ignores: every parameter of Checkout Session creation is modelled or refused with 400
 * naming it; the same for expand[] paths and list filters (modelled: events.list types[], type
 * wildcards, created, delivery_success). Stripe-Version: published versions accepted, the pinned
 * version's parameters followed (payment_method_types → allowed_payment_method_types), anything else
 * refused.
 */
describe('Sandbox parameters, expansions, filters and versions', () => {
  let sandbox: TestSandbox;
  let stripe: Stripe;
  let receiver: WebhookReceiver;

  beforeAll(async () => {
    // Refuses the first arrival of checkout.session.expired events: those stay undelivered for now.
    receiver = await startWebhookReceiver({
      respond: (event) => (event.type === 'checkout.session.expired' ? 500 : 200),
    });
    sandbox = await startTestSandbox({ SANDBOX_WEBHOOK_URL: receiver.url });
    stripe = sandbox.stripe;
  });
  afterAll(async () => {
    await sandbox.close();
    await receiver.close();
  });

  const base = (orderId: string) => ({
    mode: 'payment',
    'line_items[0][price_data][currency]': 'usd',
    'line_items[0][price_data][unit_amount]': '1450',
    'line_items[0][price_data][product_data][name]': 'Espresso beans',
    'line_items[0][quantity]': '1',
    success_url: 'http://localhost:3000/s?session_id={CHECKOUT_SESSION_ID}',
    client_reference_id: orderId,
  });

  /** What stripe-node sends on every request. */
  const PINNED = Stripe.API_VERSION;

  async function post(path: string, form: Record<string, string>, version?: string) {
    const response = await fetch(`${sandbox.baseUrl}${path}`, {
      method: 'POST',
      headers: {
        Authorization: `Bearer ${SANDBOX_SECRET_KEY}`,
        'Content-Type': 'application/x-www-form-urlencoded',
        ...(version ? { 'Stripe-Version': version } : {}),
      },
      body: new URLSearchParams(form).toString(),
    });
    return {
      status: response.status,
      body: (await response.json()) as Record<string, unknown> & {
        error?: { param?: string; message: string; code?: string };
      },
    };
  }
  /** At stripe-node's version unless told otherwise (null: no Stripe-Version, as the Stripe CLI sends). */
  const createSession = (extra: Record<string, string>, version: string | null = PINNED) => {
    const orderId = randomUUID();
    return post('/v1/checkout/sessions', { ...base(orderId), ...extra }, version ?? undefined).then((r) => ({
      ...r,
      orderId,
    }));
  };
  const sessionsOf = async (orderId: string) =>
    (await stripe.checkout.sessions.list({ limit: 100 })).data.filter(
      (s) => s.client_reference_id === orderId,
    );

  it('refuses each session parameter it does not model, naming it, and creates nothing', async () => {
    const cases: [Record<string, string>, string][] = [
      [{ 'discounts[0][coupon]': 'SAVE10' }, 'discounts'],
      [{ 'shipping_address_collection[allowed_countries][0]': 'US' }, 'shipping_address_collection'],
      [{ customer: 'cus_123' }, 'customer'],
      [{ 'custom_text[submit][message]': 'Thanks' }, 'custom_text'],
      [{ 'payment_method_options[card][request_three_d_secure]': 'any' }, 'payment_method_options'],
      [{ 'consent_collection[terms_of_service]': 'required' }, 'consent_collection'],
      [{ return_url: 'http://localhost:3000/r' }, 'return_url'],
      [{ locale: 'fr' }, 'locale'],
      [{ submit_type: 'donate' }, 'submit_type'],
      [{ billing_address_collection: 'required' }, 'billing_address_collection'],
      [{ customer_creation: 'always' }, 'customer_creation'],
      [{ allow_promotion_codes: 'true' }, 'allow_promotion_codes'],
      [{ 'automatic_tax[enabled]': 'true' }, 'automatic_tax[enabled]'],
      [{ 'phone_number_collection[enabled]': 'true' }, 'phone_number_collection[enabled]'],
      [{ 'invoice_creation[enabled]': 'true' }, 'invoice_creation[enabled]'],
      [{ 'payment_intent_data[transfer_group]': 'g1' }, 'payment_intent_data[transfer_group]'],
      [{ 'payment_intent_data[on_behalf_of]': 'acct_1' }, 'payment_intent_data[on_behalf_of]'],
      [{ 'payment_intent_data[statement_descriptor]': 'BEANS' }, 'payment_intent_data[statement_descriptor]'],
      [{ 'payment_intent_data[capture_method]': 'manual' }, 'payment_intent_data[capture_method]'],
      [{ 'line_items[0][tax_rates][0]': 'txr_1' }, 'line_items[0][tax_rates]'],
      [{ 'line_items[0][adjustable_quantity][enabled]': 'true' }, 'line_items[0][adjustable_quantity]'],
      [{ 'line_items[0][price_data][recurring][interval]': 'month' }, 'line_items[0][price_data][recurring]'],
      [{ 'line_items[0][price_data][tax_behavior]': 'inclusive' }, 'line_items[0][price_data][tax_behavior]'],
      [{ 'line_items[0][price_data][product_data][images][0]': 'https://x/y.png' }, 'line_items[0][price_data][product_data][images]'],
      [{ 'allowed_payment_method_types[0]': 'klarna' }, 'allowed_payment_method_types[0]'],
    ]; // prettier-ignore
    for (const [extra, param] of cases) {
      const { status, body, orderId } = await createSession(extra);
      expect({ extra, status, param: body.error?.param }).toEqual({ extra, status: 400, param });
      expect(body.error?.message).toMatch(/is not supported by the sandbox/);
      expect(await sessionsOf(orderId)).toEqual([]);
    }
  });

  it.each([
    ['/v1/products', { name: 'Mug', 'images[0]': 'https://example.com/mug.png' }, 'images'],
    ['/v1/products', { name: 'Mug', tax_code: 'txcd_99999999' }, 'tax_code'],
    ['/v1/products', { name: 'Mug', active: 'false' }, 'active'],
    [
      '/v1/prices',
      { currency: 'usd', unit_amount: '100', 'product_data[name]': 'Mug', tax_behavior: 'exclusive' },
      'tax_behavior',
    ],
    [
      '/v1/prices',
      { currency: 'usd', unit_amount: '100', 'product_data[name]': 'Mug', 'product_data[unit_label]': 'cup' },
      'product_data[unit_label]',
    ],
  ])(
    'refuses %s parameters Stripe accepts but the sandbox does not model (%j), naming %s',
    async (path, form, param) => {
      const created = async () =>
        (await stripe.events.list({ type: 'product.created', limit: 100 })).data.length;
      const before = await created();
      const refused = await post(path, form, PINNED);
      expect(refused.status).toBe(400);
      expect(refused.body.error).toMatchObject({
        param,
        message: expect.stringContaining('not supported by the sandbox'),
      });
      expect(await created()).toBe(before);
    },
  );

  it('keeps and shows the settings it can honour', async () => {
    const { status, body } = await createSession({
      locale: 'en',
      submit_type: 'pay',
      billing_address_collection: 'auto',
      allow_promotion_codes: 'false',
      customer_creation: 'if_required',
      'automatic_tax[enabled]': 'false',
      'phone_number_collection[enabled]': 'false',
      payment_method_collection: 'always',
      currency: 'usd',
      'line_items[0][metadata][sku]': 'BEANS-250',
      'payment_intent_data[receipt_email]': 'receipts@example.com',
      'payment_intent_data[capture_method]': 'automatic',
    });
    expect(status).toBe(200);
    expect(body).toMatchObject({
      locale: 'en',
      submit_type: 'pay',
      billing_address_collection: 'auto',
      allow_promotion_codes: false,
      customer_creation: 'if_required',
      automatic_tax: { enabled: false },
      phone_number_collection: { enabled: false },
      payment_method_collection: 'always',
    });
    const id = String(body.id);
    const items = await stripe.checkout.sessions.listLineItems(id);
    expect(items.data[0].metadata).toEqual({ sku: 'BEANS-250' });
    expect((await payWithCard(String(body.url), { number: TEST_CARDS.success })).status).toBe(303);
    const paid = await stripe.checkout.sessions.retrieve(id, { expand: ['payment_intent'] });
    expect(paid.payment_intent).toMatchObject({ receipt_email: 'receipts@example.com' });
  });

  it('follows the pinned version: allowed/excluded_payment_method_types, and payment_method_types is unknown', async () => {
    const allowed = await createSession({ 'allowed_payment_method_types[0]': 'card' }, PINNED);
    expect(allowed.body).toMatchObject({
      payment_method_types: ['card'],
      allowed_payment_method_types: ['card'],
    });
    const excluded = await createSession({ 'excluded_payment_method_types[0]': 'us_bank_account' }, PINNED);
    expect(excluded.body).toMatchObject({ payment_method_types: ['card', 'link'] });
    const old = await createSession({ 'payment_method_types[0]': 'card' }, PINNED);
    expect(old).toMatchObject({
      status: 400,
      body: { error: { code: 'parameter_unknown', param: 'payment_method_types' } },
    });
    const euro = await createSession(
      {
        'line_items[0][price_data][currency]': 'eur',
        'allowed_payment_method_types[0]': 'us_bank_account',
      },
      PINNED,
    );
    expect(euro).toMatchObject({ status: 400, body: { error: { param: 'allowed_payment_method_types' } } });
    // A request that names no version is read with the account's default (before endive), as the
    // Stripe CLI's fixtures are.
    const unversioned = await createSession({ 'payment_method_types[0]': 'card' }, null);
    expect(unversioned).toMatchObject({ status: 200, body: { payment_method_types: ['card'] } });
  });

  it('accepts an older published Stripe-Version with its parameters, and refuses unknown or malformed versions', async () => {
    const acacia = await createSession({ 'payment_method_types[0]': 'card' }, '2024-09-30.acacia');
    expect(acacia.status).toBe(200);
    expect(acacia.body).toMatchObject({ payment_method_types: ['card'] });
    const newer = await createSession({ 'allowed_payment_method_types[0]': 'card' }, '2024-09-30.acacia');
    expect(newer).toMatchObject({
      status: 400,
      body: { error: { code: 'parameter_unknown', param: 'allowed_payment_method_types' } },
    });
    for (const version of ['1999-01-01', 'banana', '2026-10-28.zebra']) {
      const refused = await createSession({}, version);
      expect({ version, status: refused.status, message: refused.body.error?.message }).toEqual({
        version,
        status: 400,
        message: `Invalid Stripe API version: ${version}`,
      });
      expect(await sessionsOf(refused.orderId)).toEqual([]);
    }
    // What the pinned SDK sends.
    const pinned = await stripe.checkout.sessions.create({
      mode: 'payment',
      line_items: [{ price_data: { currency: 'usd', unit_amount: 900, product_data: { name: 'Mug' } }, quantity: 1 }],
      success_url: 'http://localhost:3000/s',
    }); // prettier-ignore
    expect(pinned.lastResponse.headers['stripe-version']).toBe(Stripe.API_VERSION);
  });

  it('expands what it models and refuses other expand[] paths, naming them', async () => {
    const session = await createSession({});
    expect((await payWithCard(String(session.body.url), { number: TEST_CARDS.success })).status).toBe(303);
    const intentId = (await stripe.checkout.sessions.retrieve(String(session.body.id)))
      .payment_intent as string;
    const intent = await stripe.paymentIntents.retrieve(intentId, {
      expand: ['latest_charge', 'payment_method'],
    });
    expect(intent.latest_charge).toMatchObject({ object: 'charge', status: 'succeeded' });
    expect(intent.payment_method).toMatchObject({ object: 'payment_method', type: 'card' });
    const charge = await stripe.charges.retrieve((intent.latest_charge as Stripe.Charge).id, {
      expand: ['payment_intent'],
    });
    expect(charge.payment_intent).toMatchObject({ object: 'payment_intent', id: intentId });
    const items = await stripe.checkout.sessions.listLineItems(String(session.body.id), {
      expand: ['data.price.product'],
    });
    expect(items.data[0].price?.product).toMatchObject({ object: 'product', name: 'Espresso beans' });
    const price = await stripe.prices.retrieve(items.data[0].price!.id, { expand: ['product'] });
    expect(price.product).toMatchObject({ object: 'product' });

    const refusals: [Promise<unknown>, string][] = [
      [stripe.paymentIntents.retrieve(intentId, { expand: ['customer'] }), 'expand[0]'],
      [stripe.charges.retrieve(charge.id, { expand: ['balance_transaction'] }), 'expand[0]'],
      [stripe.checkout.sessions.listLineItems(String(session.body.id), { expand: ['data.taxes'] }), 'expand[0]'],
      [stripe.events.list({ expand: ['data.data'] }), 'expand[0]'],
      [stripe.checkout.sessions.retrieve(String(session.body.id), { expand: ['customer'] }), 'expand[0]'],
    ]; // prettier-ignore
    for (const [call, param] of refusals) {
      await expect(call).rejects.toMatchObject({ statusCode: 400, param });
    }
  });

  it('filters events by types[], a type wildcard, created and delivery_success', async () => {
    const started = Math.floor(Date.now() / 1000);
    const session = await createSession({});
    await stripe.checkout.sessions.expire(String(session.body.id));
    await waitFor(
      () => receiver.received.some((r) => r.event.type === 'checkout.session.expired'),
      'the refused expiry delivery',
    );
    const types = await stripe.events.list({
      types: ['checkout.session.expired', 'charge.succeeded'],
      limit: 100,
    });
    expect(new Set(types.data.map((e) => e.type))).toEqual(
      new Set(['checkout.session.expired', 'charge.succeeded']),
    );
    const wildcard = await stripe.events.list({ type: 'checkout.session.*', limit: 100 });
    expect(wildcard.data.length).toBeGreaterThan(0);
    expect(wildcard.data.every((e) => e.type.startsWith('checkout.session.'))).toBe(true);
    const recent = await stripe.events.list({ created: { gte: started }, limit: 100 });
    expect(recent.data.every((e) => e.created >= started)).toBe(true);
    expect(recent.data.map((e) => e.type)).toContain('checkout.session.expired');
    const future = await stripe.events.list({ created: { gt: started + 3600 } });
    expect(future.data).toEqual([]);

    const undelivered = await stripe.events.list({ delivery_success: false, limit: 100 });
    expect(undelivered.data.map((e) => e.type)).toEqual(expect.arrayContaining(['checkout.session.expired']));
    expect(undelivered.data.every((e) => e.type === 'checkout.session.expired')).toBe(true);
    const delivered = await stripe.events.list({ delivery_success: true, limit: 100 });
    expect(delivered.data.some((e) => e.type === 'checkout.session.expired')).toBe(false);
    expect(delivered.data.length).toBeGreaterThan(0);

    await expect(
      stripe.events.list({ type: 'charge.succeeded', types: ['charge.failed'] }),
    ).rejects.toMatchObject({ statusCode: 400, param: 'types' });
  });
});
