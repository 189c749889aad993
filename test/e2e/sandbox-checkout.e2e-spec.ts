import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Stripe from 'stripe';
import {
  advanceSandboxClock,
  openCheckoutPage,
  payByBank,
  payWithCard,
  type ReceivedWebhook,
  startTestSandbox,
  startWebhookReceiver,
  TEST_BANK_ACCOUNTS,
  TEST_CARDS,
  type TestSandbox,
  type WebhookReceiver,
} from '../support/sandbox';
import { waitFor } from '../support/wait';

/**
 * The hosted checkout page, driven through its HTML form as a customer without JavaScript would,
 * and the signed webhooks each outcome sends (checked by a receiver with stripe.webhooks.constructEvent).
 */
describe('Stripe sandbox checkout page', () => {
  let sandbox: TestSandbox;
  let receiver: WebhookReceiver;

  beforeEach(async () => {
    receiver = await startWebhookReceiver();
    // Settlement only when a test moves the clock: deterministic.
    sandbox = await startTestSandbox({
      SANDBOX_WEBHOOK_URL: receiver.url,
      SANDBOX_SETTLEMENT_SECONDS: '3600',
    });
  });
  afterEach(async () => {
    await sandbox.close();
    await receiver.close();
    expect(receiver.rejected).toEqual([]);
  });

  const fixture = (name: string) =>
    JSON.parse(
      readFileSync(join(__dirname, `../fixtures/stripe-events/${name}.json`), 'utf8'),
    ) as Stripe.Event;
  const keysOf = (value: object) => Object.keys(value).sort();
  const nowSeconds = () => Math.floor(Date.now() / 1000);

  async function createSession(
    orderId: string,
    expiresInSeconds = 31 * 60,
  ): Promise<Stripe.Checkout.Session> {
    return sandbox.stripe.checkout.sessions.create({
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
      expires_at: nowSeconds() + expiresInSeconds,
    }); // prettier-ignore
  }

  /** Waits for a delivery of `type`, then answers every verified delivery so far, in arrival order. */
  async function deliveredUpTo(type: string, count = 1): Promise<ReceivedWebhook[]> {
    await waitFor(
      () => receiver.received.filter((r) => r.event.type === type).length >= count,
      `${count} × ${type}`,
    );
    return [...receiver.received];
  }
  const types = (received: ReceivedWebhook[]) => received.map((r) => r.event.type);
  const objectOf = <T>(received: ReceivedWebhook[], type: string) =>
    received.find((r) => r.event.type === type)!.event.data.object as T;

  it('takes a card payment: 303 to success_url, the session paid, and the events Stripe sends', async () => {
    const orderId = randomUUID();
    const session = await createSession(orderId);

    const page = await openCheckoutPage(session.url!);
    expect(page.status).toBe(200);
    expect(page.html).toContain('Espresso beans, 250 g');
    expect(page.html).toContain('$47.00');
    expect(page.html).toMatch(/<button type="submit">Pay \$47\.00<\/button>/);
    expect(page.html).toMatch(/<label for="cardNumber">/);
    expect(page.html).toMatch(/name="email"[^>]*readonly[^>]*value="buyer@example.com"/);
    expect(page.alert).toBeUndefined();

    const paid = await payWithCard(session.url!, { number: TEST_CARDS.success });
    expect(paid.status).toBe(303);
    expect(paid.location).toBe(`http://localhost:3000/checkout/success?session_id=${session.id}`);

    const received = await deliveredUpTo('checkout.session.completed');
    expect(types(received)).toEqual([
      'payment_intent.created',
      'charge.succeeded',
      'payment_intent.succeeded',
      'checkout.session.completed',
    ]);
    const completed = received[3].event;
    expect(keysOf(completed)).toEqual(keysOf(fixture('checkout.session.completed.paid')));
    expect(completed).toMatchObject({
      object: 'event',
      api_version: Stripe.API_VERSION,
      livemode: false,
      pending_webhooks: 1,
      request: { id: null, idempotency_key: null },
    });
    expect(completed.id).toMatch(/^evt_\w{24}$/);
    const sessionObject = completed.data.object as Stripe.Checkout.Session;
    expect(keysOf(sessionObject)).toEqual(keysOf(fixture('checkout.session.completed.paid').data.object));
    expect(sessionObject).toMatchObject({
      id: session.id,
      status: 'complete',
      payment_status: 'paid',
      amount_total: 4700,
      currency: 'usd',
      client_reference_id: orderId,
      metadata: { orderId },
      customer_details: { email: 'buyer@example.com', name: 'Jenny Rosen' },
      url: null,
    });
    const intent = objectOf<Stripe.PaymentIntent>(received, 'payment_intent.succeeded');
    expect(sessionObject.payment_intent).toBe(intent.id);
    expect(intent).toMatchObject({
      status: 'succeeded',
      amount: 4700,
      amount_received: 4700,
      metadata: { orderId },
    });
    expect(objectOf<Stripe.Charge>(received, 'charge.succeeded')).toMatchObject({
      paid: true,
      payment_intent: intent.id,
      payment_method_details: { card: { brand: 'visa', last4: '4242' }, type: 'card' },
      metadata: { orderId },
    });

    expect(await sandbox.stripe.checkout.sessions.retrieve(session.id)).toMatchObject({
      status: 'complete',
      payment_status: 'paid',
      payment_intent: intent.id,
    });
    // Paying again (a double click) lands on the success page, and charges nothing more.
    expect((await payWithCard(session.url!, { number: TEST_CARDS.success })).location).toBe(paid.location);
    expect((await sandbox.stripe.events.list({ type: 'charge.succeeded' })).data).toHaveLength(1);
  });

  const declines: [string, string, string, string, string][] = [
    ['a generic decline', TEST_CARDS.genericDecline, 'card_declined', 'generic_decline', 'Your card was declined.'],
    ['insufficient funds', TEST_CARDS.insufficientFunds, 'card_declined', 'insufficient_funds', 'Your card has insufficient funds.'],
    ['an expired card', TEST_CARDS.expiredCard, 'expired_card', 'expired_card', 'Your card has expired.'],
    ['an incorrect CVC', TEST_CARDS.incorrectCvc, 'incorrect_cvc', 'incorrect_cvc', "Your card's security code is incorrect."],
  ]; // prettier-ignore

  it.each(declines)(
    'shows %s, keeps the session open, and takes a good card after',
    async (_name, card, code, declineCode, message) => {
      const orderId = randomUUID();
      const session = await createSession(orderId);

      const declined = await payWithCard(session.url!, { number: card });
      expect(declined.status).toBe(402);
      expect(declined.alert).toBe(message);
      expect(declined.html).toMatch(/<button type="submit">Pay \$47\.00/);

      const afterDecline = await deliveredUpTo('payment_intent.payment_failed');
      expect(types(afterDecline)).toEqual([
        'payment_intent.created',
        'charge.failed',
        'payment_intent.payment_failed',
      ]);
      const failedEvent = afterDecline[2].event;
      const failed = failedEvent.data.object as Stripe.PaymentIntent;
      expect(keysOf(failed)).toEqual(keysOf(fixture('payment_intent.payment_failed').data.object));
      expect(failed).toMatchObject({
        status: 'requires_payment_method',
        metadata: { orderId },
        amount: 4700,
      });
      expect(failed.last_payment_error).toMatchObject({
        type: 'card_error',
        code,
        decline_code: declineCode,
        message,
      });
      expect(failedEvent.request).toMatchObject({ id: expect.stringMatching(/^req_/) });
      expect((await sandbox.stripe.checkout.sessions.retrieve(session.id)).status).toBe('open');
      expect((await openCheckoutPage(session.url!)).status).toBe(200);

      const paid = await payWithCard(session.url!, { number: TEST_CARDS.success });
      expect(paid.status).toBe(303);
      const all = await deliveredUpTo('checkout.session.completed');
      // The same PaymentIntent takes the second attempt; no checkout.session event before it succeeds.
      expect(types(all).slice(3)).toEqual([
        'charge.succeeded',
        'payment_intent.succeeded',
        'checkout.session.completed',
      ]);
      expect(objectOf<Stripe.PaymentIntent>(all, 'payment_intent.succeeded').id).toBe(failed.id);
      expect((all[5].event.data.object as Stripe.Checkout.Session).payment_status).toBe('paid');
    },
  );

  it.each([
    [
      'a card number that fails the checksum',
      { number: '4242 4242 4242 4241' },
      'Your card number is invalid.',
    ],
    [
      'an expiry in the past',
      { number: TEST_CARDS.success, expiry: '01 / 20' },
      "Your card's expiration date is in the past.",
    ],
    ['a short CVC', { number: TEST_CARDS.success, cvc: '12' }, "Your card's security code is incomplete."],
  ])('refuses %s before it reaches the bank: no PaymentIntent, no event', async (_name, card, message) => {
    const session = await createSession(randomUUID());
    const result = await payWithCard(session.url!, card);
    expect(result.status).toBe(400);
    expect(result.alert).toBe(message);
    expect(await sandbox.stripe.checkout.sessions.retrieve(session.id)).toMatchObject({
      status: 'open',
      payment_intent: null,
    });
    expect((await sandbox.stripe.events.list()).data).toEqual([]);
  });

  it('takes a bank payment that completes unpaid, then settles when the clock passes the delay', async () => {
    const orderId = randomUUID();
    const session = await createSession(orderId);

    const submitted = await payByBank(session.url!, TEST_BANK_ACCOUNTS.settles);
    expect(submitted.status).toBe(303);
    expect(submitted.location).toBe(`http://localhost:3000/checkout/success?session_id=${session.id}`);
    const first = await deliveredUpTo('checkout.session.completed');
    expect(types(first)).toEqual([
      'payment_intent.created',
      'payment_intent.processing',
      'charge.pending',
      'checkout.session.completed',
    ]);
    const completed = objectOf<Stripe.Checkout.Session>(first, 'checkout.session.completed');
    expect(keysOf(completed)).toEqual(keysOf(fixture('checkout.session.completed.unpaid').data.object));
    expect(completed).toMatchObject({ status: 'complete', payment_status: 'unpaid', metadata: { orderId } });

    await advanceSandboxClock(sandbox.baseUrl, 3599);
    expect((await sandbox.stripe.checkout.sessions.retrieve(session.id)).payment_status).toBe('unpaid');
    await advanceSandboxClock(sandbox.baseUrl, 1);

    const all = await deliveredUpTo('checkout.session.async_payment_succeeded');
    expect(types(all).slice(4)).toEqual([
      'charge.succeeded',
      'payment_intent.succeeded',
      'checkout.session.async_payment_succeeded',
    ]);
    expect(objectOf<Stripe.Checkout.Session>(all, 'checkout.session.async_payment_succeeded')).toMatchObject({
      id: session.id,
      status: 'complete',
      payment_status: 'paid',
    });
    expect(objectOf<Stripe.Charge>(all, 'charge.succeeded').payment_method_details).toMatchObject({
      type: 'us_bank_account',
      us_bank_account: { last4: '6789', routing_number: '110000000' },
    });
    expect((await sandbox.stripe.checkout.sessions.retrieve(session.id)).payment_status).toBe('paid');
  });

  it('takes a bank payment from a closed account, which fails when it settles', async () => {
    const orderId = randomUUID();
    const session = await createSession(orderId);
    expect((await payByBank(session.url!, TEST_BANK_ACCOUNTS.accountClosed)).status).toBe(303);
    await deliveredUpTo('checkout.session.completed');

    await advanceSandboxClock(sandbox.baseUrl, 3600);
    const all = await deliveredUpTo('checkout.session.async_payment_failed');
    expect(types(all).slice(4)).toEqual([
      'charge.failed',
      'payment_intent.payment_failed',
      'checkout.session.async_payment_failed',
    ]);
    expect(objectOf<Stripe.Checkout.Session>(all, 'checkout.session.async_payment_failed')).toMatchObject({
      status: 'complete',
      payment_status: 'unpaid',
      metadata: { orderId },
    });
    expect(objectOf<Stripe.PaymentIntent>(all, 'payment_intent.payment_failed')).toMatchObject({
      status: 'requires_payment_method',
      metadata: { orderId },
      last_payment_error: { code: 'account_closed', message: "The customer's bank account has been closed." },
    });
  });

  it('links back to cancel_url without ending the session', async () => {
    const orderId = randomUUID();
    const session = await createSession(orderId);
    const page = await openCheckoutPage(session.url!);
    expect(page.cancelHref).toBe(`http://localhost:3000/checkout/cancel?orderId=${orderId}`);
    expect((await sandbox.stripe.checkout.sessions.retrieve(session.id)).status).toBe('open');
    expect((await sandbox.stripe.events.list()).data).toEqual([]);
  });

  it('expires the session at expires_at: the event, the page, and no more payment', async () => {
    const orderId = randomUUID();
    const session = await createSession(orderId, 31 * 60);

    await advanceSandboxClock(sandbox.baseUrl, 29 * 60);
    expect((await sandbox.stripe.checkout.sessions.retrieve(session.id)).status).toBe('open');
    await advanceSandboxClock(sandbox.baseUrl, 2 * 60 + 5);

    const received = await deliveredUpTo('checkout.session.expired');
    expect(types(received)).toEqual(['checkout.session.expired']);
    const expired = received[0].event.data.object as Stripe.Checkout.Session;
    expect(keysOf(expired)).toEqual(keysOf(fixture('checkout.session.expired').data.object));
    expect(expired).toMatchObject({
      id: session.id,
      status: 'expired',
      url: null,
      payment_intent: null,
      metadata: { orderId },
    });

    const page = await openCheckoutPage(session.url!);
    expect(page.html).toContain('<h1>This checkout is closed</h1>');
    const late = await payWithCard(session.url!, { number: TEST_CARDS.success });
    expect(late.status).toBe(410);
    expect(late.alert).toBe('No payment can be made here any more. Nothing was charged.');
    expect(receiver.received).toHaveLength(1);
  });

  it('cancels the PaymentIntent of a declined attempt when the session expires', async () => {
    const session = await createSession(randomUUID());
    await payWithCard(session.url!, { number: TEST_CARDS.genericDecline });
    await deliveredUpTo('payment_intent.payment_failed');

    await advanceSandboxClock(sandbox.baseUrl, 32 * 60);
    const received = await deliveredUpTo('checkout.session.expired');
    expect(types(received).slice(3)).toEqual(['payment_intent.canceled', 'checkout.session.expired']);
    expect(objectOf<Stripe.PaymentIntent>(received, 'payment_intent.canceled')).toMatchObject({
      status: 'canceled',
      cancellation_reason: 'abandoned',
    });
  });
});
