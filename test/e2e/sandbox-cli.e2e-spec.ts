import type Stripe from 'stripe';
import {
  advanceSandboxClock,
  sandboxEvents,
  startTestSandbox,
  startWebhookReceiver,
  type TestSandbox,
  type WebhookReceiver,
} from '../support/sandbox';
import { StripeCli } from '../support/stripe-cli';

const SETTLEMENT_SECONDS = 10;

type Check = (events: Stripe.Event[], stripe: Stripe) => Promise<void> | void;

interface TriggerCase {
  trigger: string;
  /** The events `stripe trigger` makes the sandbox send, in order. */
  events: string[];
  /** Those that follow once the sandbox clock has moved past the settlement delay. */
  later?: string[];
  check: Check;
}

const object = <T>(events: Stripe.Event[], type: string): T =>
  events.find((event) => event.type === type)!.data.object as T;

const CHECKOUT_PAID = ['payment_intent.created', 'charge.succeeded', 'payment_intent.succeeded'];
const SEPA_SUBMITTED = ['product.created', 'price.created', 'payment_intent.created', 'customer.created',
  'payment_method.attached', 'payment_intent.processing', 'charge.pending', 'checkout.session.completed']; // prettier-ignore
const INTENT_PAID = ['payment_intent.created', 'charge.succeeded', 'payment_intent.succeeded'];

/**
 * What each `stripe trigger` of the official Stripe CLI (its own fixtures, unchanged) makes the
 * sandbox send, as real Stripe sends it: the CLI's requests (products, prices, Checkout Sessions and
 * its confirmation step, SEPA and card PaymentMethods, PaymentIntents, customers, refunds) all
 * succeed, and every event reaches a webhook endpoint that verifies its signature.
 */
const TRIGGERS: TriggerCase[] = [
  {
    trigger: 'checkout.session.completed',
    events: ['product.created', 'price.created', ...CHECKOUT_PAID, 'checkout.session.completed'],
    check: async (events, stripe) => {
      const session = object<Stripe.Checkout.Session>(events, 'checkout.session.completed');
      expect(session).toMatchObject({
        status: 'complete',
        payment_status: 'paid',
        amount_total: 3000,
        currency: 'usd',
      });
      const intent = await stripe.paymentIntents.retrieve(session.payment_intent as string);
      expect(intent).toMatchObject({ status: 'succeeded', amount_received: 3000 });
      expect(intent.shipping).toMatchObject({
        name: 'Jenny Rosen',
        address: { line1: '510 Townsend St', country: 'US' },
      });
    },
  },
  {
    trigger: 'checkout.session.expired',
    events: ['product.created', 'price.created', 'checkout.session.expired'],
    check: async (events, stripe) => {
      const expired = object<Stripe.Checkout.Session>(events, 'checkout.session.expired');
      const session = await stripe.checkout.sessions.retrieve(expired.id, { expand: ['line_items'] });
      expect(session).toMatchObject({ status: 'expired', amount_total: 3000, currency: 'usd', url: null });
      expect(session.line_items?.data[0]).toMatchObject({ description: 'myproduct', quantity: 2 });
    },
  },
  {
    trigger: 'checkout.session.async_payment_succeeded',
    events: SEPA_SUBMITTED,
    later: ['charge.succeeded', 'payment_intent.succeeded', 'checkout.session.async_payment_succeeded'],
    check: (events) => {
      expect(object<Stripe.Checkout.Session>(events, 'checkout.session.completed')).toMatchObject({
        payment_status: 'unpaid',
        currency: 'eur',
        payment_method_types: ['sepa_debit'],
      });
      const settled = object<Stripe.Checkout.Session>(events, 'checkout.session.async_payment_succeeded');
      expect(settled).toMatchObject({ payment_status: 'paid', customer: expect.stringMatching(/^cus_/) });
      const charge = object<Stripe.Charge>(events, 'charge.succeeded');
      expect(charge.payment_method_details).toMatchObject({
        type: 'sepa_debit',
        sepa_debit: { last4: '3201' },
      });
      expect(object<Stripe.PaymentIntent>(events, 'payment_intent.succeeded').setup_future_usage).toBe(
        'off_session',
      );
    },
  },
  {
    trigger: 'checkout.session.async_payment_failed',
    events: SEPA_SUBMITTED,
    later: ['charge.failed', 'payment_intent.payment_failed', 'checkout.session.async_payment_failed'],
    check: (events) => {
      expect(object<Stripe.Checkout.Session>(events, 'checkout.session.async_payment_failed')).toMatchObject({
        status: 'complete',
        payment_status: 'unpaid',
      });
      expect(object<Stripe.PaymentIntent>(events, 'payment_intent.payment_failed')).toMatchObject({
        status: 'requires_payment_method',
        last_payment_error: { code: 'insufficient_funds' },
      });
    },
  },
  {
    trigger: 'payment_intent.succeeded',
    events: INTENT_PAID,
    check: (events) => {
      expect(object<Stripe.PaymentIntent>(events, 'payment_intent.succeeded')).toMatchObject({
        amount: 2000,
        amount_received: 2000,
        description: '(created by Stripe CLI)',
        payment_method_types: ['card'],
        shipping: { name: 'Jenny Rosen' },
      });
      expect(object<Stripe.Charge>(events, 'charge.succeeded')).toMatchObject({
        paid: true,
        captured: true,
        amount: 2000,
      });
    },
  },
  {
    trigger: 'payment_intent.payment_failed',
    events: ['payment_intent.created', 'charge.failed', 'payment_intent.payment_failed'],
    check: (events) => {
      expect(object<Stripe.PaymentIntent>(events, 'payment_intent.payment_failed')).toMatchObject({
        status: 'requires_payment_method',
        last_payment_error: { type: 'card_error', code: 'card_declined', decline_code: 'generic_decline' },
      });
      expect(object<Stripe.Charge>(events, 'charge.failed')).toMatchObject({
        status: 'failed',
        failure_code: 'card_declined',
      });
    },
  },
  {
    trigger: 'payment_intent.created',
    events: ['payment_intent.created'],
    check: async (events, stripe) => {
      const created = object<Stripe.PaymentIntent>(events, 'payment_intent.created');
      expect(created).toMatchObject({ status: 'requires_payment_method', amount: 2000, currency: 'usd' });
      expect(await stripe.paymentIntents.retrieve(created.id)).toMatchObject({
        status: 'requires_payment_method',
      });
    },
  },
  {
    trigger: 'charge.succeeded',
    events: INTENT_PAID,
    check: (events) => {
      expect(object<Stripe.Charge>(events, 'charge.succeeded')).toMatchObject({
        amount: 100,
        status: 'succeeded',
        payment_method_details: { type: 'card', card: { brand: 'visa', last4: '4242' } },
      });
    },
  },
  {
    trigger: 'charge.refunded',
    events: [...INTENT_PAID, 'refund.created', 'charge.refunded'],
    later: ['refund.updated'],
    check: async (events, stripe) => {
      const charge = object<Stripe.Charge>(events, 'charge.refunded');
      expect(charge).toMatchObject({ amount: 100, amount_refunded: 100, refunded: true });
      expect(object<Stripe.Refund>(events, 'refund.created')).toMatchObject({
        status: 'pending',
        amount: 100,
      });
      expect(object<Stripe.Refund>(events, 'refund.updated')).toMatchObject({
        status: 'succeeded',
        charge: charge.id,
      });
      const refunds = await stripe.refunds.list({ charge: charge.id });
      expect(refunds.data.map((r) => r.status)).toEqual(['succeeded']);
    },
  },
  {
    trigger: 'customer.created',
    events: ['customer.created'],
    check: async (events, stripe) => {
      const customer = object<Stripe.Customer>(events, 'customer.created');
      expect(customer).toMatchObject({ object: 'customer', description: '(created by Stripe CLI)' });
      expect(await stripe.customers.retrieve(customer.id)).toMatchObject({ id: customer.id });
    },
  },
  {
    trigger: 'product.created',
    events: ['product.created'],
    check: (events) => {
      expect(object<Stripe.Product>(events, 'product.created')).toMatchObject({
        name: 'myproduct',
        description: '(created by Stripe CLI)',
      });
    },
  },
  {
    trigger: 'price.created',
    events: ['product.created', 'price.created'],
    check: (events) => {
      expect(object<Stripe.Price>(events, 'price.created')).toMatchObject({
        type: 'recurring',
        unit_amount: 1500,
        recurring: { interval: 'month', interval_count: 1, usage_type: 'licensed' },
        product: object<Stripe.Product>(events, 'product.created').id,
      });
    },
  },
  {
    trigger: 'charge.dispute.created',
    events: [...INTENT_PAID, 'charge.dispute.created'],
    check: (events) => {
      const charge = object<Stripe.Charge>(events, 'charge.succeeded');
      expect(object<Stripe.Dispute>(events, 'charge.dispute.created')).toMatchObject({
        charge: charge.id,
        amount: 100,
        reason: 'fraudulent',
        status: 'warning_needs_response',
      });
    },
  },
];

describe('Stripe CLI `stripe trigger` against the sandbox', () => {
  const cli = new StripeCli();
  let receiver: WebhookReceiver;
  let sandbox: TestSandbox;

  beforeEach(async () => {
    receiver = await startWebhookReceiver();
    sandbox = await startTestSandbox({
      SANDBOX_WEBHOOK_URL: receiver.url,
      SANDBOX_SETTLEMENT_SECONDS: String(SETTLEMENT_SECONDS),
    });
  });
  afterEach(async () => {
    await sandbox.close();
    await receiver.close();
  });
  afterAll(() => cli.cleanUp());

  for (const { trigger, events, later = [], check } of TRIGGERS) {
    it(`stripe trigger ${trigger}`, async () => {
      const output = await cli.run(['trigger', trigger], sandbox.baseUrl);
      expect(output).toContain('Trigger succeeded!');

      await receiver.waitForCount(events.length);
      if (later.length) {
        await advanceSandboxClock(sandbox.baseUrl, SETTLEMENT_SECONDS);
        await receiver.waitForCount(events.length + later.length);
      }
      const received = receiver.received.map((delivery) => delivery.event);
      expect(received.map((event) => event.type)).toEqual([...events, ...later]);
      expect(receiver.rejected).toEqual([]);
      // Nothing else was created and left undelivered.
      expect((await sandboxEvents(sandbox.baseUrl)).map((event) => event.type)).toEqual([
        ...events,
        ...later,
      ]);
      await check(received, sandbox.stripe);
    });
  }
});
