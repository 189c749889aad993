import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import Stripe from 'stripe';
import { SANDBOX_SECRET_KEY } from '../../src/config';
import {
  advanceSandboxClock,
  payByBank,
  payWithCard,
  startTestSandbox,
  startWebhookReceiver,
  TEST_BANK_ACCOUNTS,
  TEST_CARDS,
  type TestSandbox,
  type WebhookReceiver,
} from '../support/sandbox';
import { StripeTypes } from '../support/stripe-types';
import { waitFor } from '../support/wait';

/*
 * Every object the sandbox answers and every event it sends, checked against the pinned stripe
 * SDK's own type declarations (test/support/stripe-types.ts): a missing field, a field the SDK does
 * not declare, a wrong type or an unknown enum value fails, with its path.
 */

/** The SDK type of an API object, by its `object`. */
const TYPE_OF: Record<string, string> = {
  'checkout.session': 'CheckoutSession',
  payment_intent: 'PaymentIntent',
  charge: 'Charge',
  payment_method: 'PaymentMethod',
  product: 'Product',
  price: 'Price',
  item: 'LineItem',
  webhook_endpoint: 'WebhookEndpoint',
  event: 'Event',
  customer: 'Customer',
  refund: 'Refund',
  dispute: 'Dispute',
};

describe('Sandbox objects and events against the stripe SDK types', () => {
  let types: StripeTypes;
  let sandbox: TestSandbox;
  let receiver: WebhookReceiver;
  /** Every answer of the API, by request. */
  const answers: { request: string; body: Record<string, unknown> }[] = [];

  beforeAll(async () => {
    types = new StripeTypes();
    receiver = await startWebhookReceiver();
    sandbox = await startTestSandbox({ SANDBOX_WEBHOOK_URL: receiver.url, SANDBOX_SETTLEMENT_SECONDS: '60' });
  });
  afterAll(async () => {
    await sandbox.close();
    await receiver.close();
  });

  async function api(method: 'GET' | 'POST' | 'DELETE', path: string, form: Record<string, string> = {}) {
    const query = new URLSearchParams(form).toString();
    const response = await fetch(
      `${sandbox.baseUrl}/v1${path}${method === 'POST' || !query ? '' : `?${query}`}`,
      {
        method,
        headers: {
          Authorization: `Bearer ${SANDBOX_SECRET_KEY}`,
          // As stripe-node sends it (a request without one is read at the account's older default).
          'Stripe-Version': Stripe.API_VERSION,
          ...(method === 'POST' ? { 'Content-Type': 'application/x-www-form-urlencoded' } : {}),
        },
        body: method === 'POST' ? query : undefined,
      },
    );
    const body = (await response.json()) as Record<string, unknown>;
    if (!response.ok)
      throw new Error(`${method} ${path} answered ${response.status}: ${JSON.stringify(body)}`);
    answers.push({ request: `${method} ${path}`, body });
    return body;
  }

  function violations(label: string, value: Record<string, unknown>): string[] {
    if (value.object === 'list') {
      return (value.data as Record<string, unknown>[]).flatMap((item, i) =>
        violations(`${label} data[${i}]`, item),
      );
    }
    const name = value.deleted === true ? 'DeletedWebhookEndpoint' : TYPE_OF[String(value.object)];
    if (!name) return [`${label}: no SDK type for object ${String(value.object)}`];
    return types.validate(name, value).map((error) => `${label}: ${error}`);
  }

  it('the validator accepts real Stripe events (fixtures, amounts filled in) and names what differs', () => {
    const dir = join(__dirname, '../fixtures/stripe-events');
    for (const file of readdirSync(dir).filter((f) => f.endsWith('.json'))) {
      const event = JSON.parse(readFileSync(join(dir, file), 'utf8').replaceAll('"__AMOUNT__"', '2900')) as Record<string, unknown>; // prettier-ignore
      expect({ file, errors: types.validate('Event', event) }).toEqual({ file, errors: [] });
    }
    const session = JSON.parse(readFileSync(join(dir, 'checkout.session.expired.json'), 'utf8').replaceAll('"__AMOUNT__"', '2900')) as { data: { object: Record<string, unknown> } }; // prettier-ignore
    const broken = { ...session.data.object, status: 'paused', currency: 7, surprise: true } as Record<
      string,
      unknown
    >;
    delete broken.mode;
    expect(types.validate('CheckoutSession', broken).sort()).toEqual([
      'CheckoutSession.currency: number 7 where the SDK has null | string',
      'CheckoutSession.mode: missing',
      'CheckoutSession.status: string "paused" is not one of the SDK\'s values (null, "complete", "expired", "open")',
      expect.stringMatching(/^CheckoutSession\.surprise: not a field of/),
    ]);
  });

  it('every object answered and every event sent conforms', async () => {
    // Catalog, sessions (price id and price_data), expansions, lists.
    const product = await api('POST', '/products', {
      name: 'Espresso beans',
      description: '250 g',
      'metadata[sku]': 'BEANS',
    });
    const price = await api('POST', '/prices', {
      product: String(product.id),
      currency: 'usd',
      unit_amount: '1450',
    });
    await api('GET', `/products/${String(product.id)}`);
    await api('GET', `/prices/${String(price.id)}`, { 'expand[0]': 'product' });
    const session = (extra: Record<string, string> = {}) =>
      api('POST', '/checkout/sessions', {
        mode: 'payment',
        'line_items[0][price]': String(price.id),
        'line_items[0][quantity]': '2',
        'line_items[1][price_data][currency]': 'usd',
        'line_items[1][price_data][unit_amount]': '1800',
        'line_items[1][price_data][product_data][name]': 'Mug',
        'line_items[1][quantity]': '1',
        success_url: 'http://localhost:3000/s?session_id={CHECKOUT_SESSION_ID}',
        cancel_url: 'http://localhost:3000/c',
        customer_email: 'buyer@example.com',
        'metadata[orderId]': 'order-1',
        'payment_intent_data[metadata][orderId]': 'order-1',
        'expand[0]': 'line_items',
        ...extra,
      });
    const card = await session({ locale: 'en', 'payment_intent_data[receipt_email]': 'r@example.com' });
    const bank = await session();
    const failingBank = await session();
    const expiring = await session({ 'allowed_payment_method_types[0]': 'card' });

    // Payments: a decline then a success, a bank debit that settles, one that fails; an expiry.
    expect((await payWithCard(String(card.url), { number: TEST_CARDS.genericDecline })).status).toBe(402);
    expect((await payWithCard(String(card.url), { number: TEST_CARDS.success })).status).toBe(303);
    expect((await payByBank(String(bank.url), TEST_BANK_ACCOUNTS.settles)).status).toBe(303);
    expect((await payByBank(String(failingBank.url), TEST_BANK_ACCOUNTS.accountClosed)).status).toBe(303);
    await api('POST', `/checkout/sessions/${String(expiring.id)}/expire`);
    await advanceSandboxClock(sandbox.baseUrl, 60);

    for (const paid of [card, bank, failingBank, expiring]) {
      const retrieved = await api('GET', `/checkout/sessions/${String(paid.id)}`, {
        'expand[0]': 'payment_intent',
        'expand[1]': 'line_items',
      });
      await api('GET', `/checkout/sessions/${String(paid.id)}/line_items`, {
        'expand[0]': 'data.price.product',
      });
      const intent = retrieved.payment_intent as { id: string; latest_charge: string | null } | null;
      if (!intent) continue;
      const expanded = await api('GET', `/payment_intents/${intent.id}`, {
        'expand[0]': 'latest_charge',
        'expand[1]': 'payment_method',
      });
      const charge = expanded.latest_charge as { id: string };
      await api('GET', `/charges/${charge.id}`, { 'expand[0]': 'payment_intent' });
      await api('GET', `/payment_intents/${intent.id}`);
      await api('GET', `/charges/${charge.id}`);
    }
    await api('GET', '/checkout/sessions', { limit: '100', 'expand[0]': 'data.line_items' });

    // After the payment: customers, payment methods (a test card, a SEPA debit), PaymentIntents
    // (authorized then captured; the chargeback card), refunds and disputes.
    const customer = await api('POST', '/customers', {
      email: 'c@example.com',
      name: 'C',
      'metadata[k]': 'v',
    });
    await api('GET', `/customers/${String(customer.id)}`);
    await api('POST', '/payment_methods', {
      type: 'sepa_debit',
      'sepa_debit[iban]': 'AT611904300234573201',
      'billing_details[name]': 'Jenny Rosen',
      'billing_details[email]': 'jenny@example.com',
    });
    const authorized = await api('POST', '/payment_intents', {
      amount: '2500',
      currency: 'usd',
      payment_method: 'pm_card_visa',
      capture_method: 'manual',
      customer: String(customer.id),
      'shipping[name]': 'Jenny Rosen',
      'shipping[address][line1]': '1 Main St',
      confirm: 'true',
    });
    await api('POST', `/payment_intents/${String(authorized.id)}/capture`, { amount_to_capture: '2000' });
    const refund = await api('POST', '/refunds', { payment_intent: String(authorized.id), amount: '500' });
    const disputed = await api('POST', '/payment_intents', {
      amount: '1800',
      currency: 'usd',
      payment_method: 'pm_card_createDispute',
      confirm: 'true',
    });
    const disputes = await api('GET', '/disputes', { payment_intent: String(disputed.id) });
    const dispute = (disputes.data as { id: string }[])[0];
    const closed = await fetch(`${sandbox.baseUrl}/_sandbox/disputes/${dispute.id}/close`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ outcome: 'won' }),
    });
    expect(closed.status).toBe(200);
    await advanceSandboxClock(sandbox.baseUrl, 60);
    await api('GET', `/refunds/${String(refund.id)}`);
    await api('GET', `/disputes/${dispute.id}`);
    await api('GET', `/payment_intents/${String(disputed.id)}`);

    // Webhook endpoints.
    const endpoint = await api('POST', '/webhook_endpoints', {
      url: 'http://127.0.0.1:9/hooks',
      'enabled_events[0]': 'checkout.session.completed',
      description: 'second',
    });
    await api('POST', `/webhook_endpoints/${String(endpoint.id)}`, { disabled: 'true' });
    await api('GET', `/webhook_endpoints/${String(endpoint.id)}`);
    await api('GET', '/webhook_endpoints');
    await api('DELETE', `/webhook_endpoints/${String(endpoint.id)}`);

    // Events: listed, retrieved one by one, and as the webhook endpoint received them.
    const listed = await api('GET', '/events', { limit: '100' });
    const events = listed.data as { id: string; type: string }[];
    for (const event of events) await api('GET', `/events/${event.id}`);
    const delivered = await waitFor(
      () => receiver.received.length >= events.length && receiver.received,
      'every event at the webhook endpoint',
    );

    const problems = [
      ...answers.flatMap(({ request, body }) => violations(request, body)),
      ...delivered.map((r) => JSON.parse(r.rawBody) as Record<string, unknown>).flatMap((event) => violations(`webhook ${String(event.type)}`, event)), // prettier-ignore
    ];
    expect(problems).toEqual([]);

    // What was covered: every kind of object, and these events.
    const kinds = new Set(answers.flatMap(({ body }) => (body.object === 'list' ? (body.data as { object: string }[]).map((d) => d.object) : [String(body.object)]))); // prettier-ignore
    expect([...kinds].sort()).toEqual(['charge', 'checkout.session', 'customer', 'dispute', 'event', 'item', 'payment_intent', 'payment_method', 'price', 'product', 'refund', 'webhook_endpoint']); // prettier-ignore
    expect(new Set(events.map((e) => e.type))).toEqual(
      new Set([
        'payment_intent.created',
        'charge.failed',
        'payment_intent.payment_failed',
        'charge.succeeded',
        'payment_intent.succeeded',
        'checkout.session.completed',
        'payment_intent.processing',
        'charge.pending',
        'checkout.session.async_payment_succeeded',
        'checkout.session.async_payment_failed',
        'checkout.session.expired',
        'product.created',
        'price.created',
        'customer.created',
        'payment_intent.amount_capturable_updated',
        'charge.captured',
        'refund.created',
        'charge.refunded',
        'refund.updated',
        'charge.dispute.created',
        'charge.dispute.funds_withdrawn',
        'charge.dispute.updated',
        'charge.dispute.closed',
        'charge.dispute.funds_reinstated',
      ]),
    );
    expect(answers.length).toBeGreaterThan(40);
  });
});
