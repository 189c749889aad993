import Stripe from 'stripe';
import {
  advanceSandboxClock,
  payWithCard,
  startTestSandbox,
  startWebhookReceiver,
  TEST_CARDS,
  type TestSandbox,
  type WebhookReceiver,
} from '../support/sandbox';

const SETTLEMENT_SECONDS = 10;

/**
 * After the payment, through the stripe SDK (what the service's adapter uses) against the sandbox:
 * PaymentIntents paid with Stripe's test PaymentMethods, refunds (full, partial, failing) and
 * disputes (opened by the dispute test cards, closed by the sandbox control), each with the events
 * Stripe sends, received by an endpoint that verifies their signatures.
 */
describe('Stripe sandbox: PaymentIntents, refunds and disputes', () => {
  let receiver: WebhookReceiver;
  let sandbox: TestSandbox;
  let stripe: Stripe;

  beforeEach(async () => {
    receiver = await startWebhookReceiver();
    sandbox = await startTestSandbox({
      SANDBOX_WEBHOOK_URL: receiver.url,
      SANDBOX_SETTLEMENT_SECONDS: String(SETTLEMENT_SECONDS),
    });
    stripe = sandbox.stripe;
  });
  afterEach(async () => {
    await sandbox.close();
    await receiver.close();
    expect(receiver.rejected).toEqual([]);
  });

  /** The types of the events received so far, from the `from`-th one. */
  const typesFrom = (from: number) => receiver.received.slice(from).map((r) => r.event.type);
  const eventObject = <T>(type: string): T =>
    receiver.received.filter((r) => r.event.type === type).at(-1)!.event.data.object as T;

  async function paidIntent(paymentMethod = 'pm_card_visa', amount = 5000): Promise<Stripe.PaymentIntent> {
    const intent = await stripe.paymentIntents.create({
      amount,
      currency: 'usd',
      payment_method: paymentMethod,
      confirm: true,
      metadata: { orderId: 'order-1' },
    });
    expect(intent.status).toBe('succeeded');
    await receiver.waitForCount(3);
    return intent;
  }

  async function closeDispute(id: string, outcome: 'won' | 'lost'): Promise<Response> {
    return fetch(`${sandbox.baseUrl}/_sandbox/disputes/${id}/close`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ outcome }),
    });
  }

  describe('PaymentIntents', () => {
    it('pays with a test PaymentMethod: created, charge succeeded, succeeded', async () => {
      const intent = await paidIntent();
      expect(typesFrom(0)).toEqual([
        'payment_intent.created',
        'charge.succeeded',
        'payment_intent.succeeded',
      ]);
      const charge = await stripe.charges.retrieve(intent.latest_charge as string);
      expect(charge).toMatchObject({
        amount: 5000,
        captured: true,
        paid: true,
        payment_intent: intent.id,
        metadata: { orderId: 'order-1' },
        payment_method_details: { card: { brand: 'visa', last4: '4242' } },
      });
    });

    it("answers a decline with Stripe's 402 card error, the PaymentIntent in it", async () => {
      const error = (await stripe.paymentIntents
        .create({
          amount: 2000,
          currency: 'usd',
          payment_method: 'pm_card_chargeDeclinedInsufficientFunds',
          confirm: true,
        })
        .catch((e: unknown) => e)) as Stripe.errors.StripeCardError;
      expect(error).toBeInstanceOf(Stripe.errors.StripeCardError);
      expect(error).toMatchObject({
        statusCode: 402,
        code: 'card_declined',
        decline_code: 'insufficient_funds',
      });
      const intent = error.payment_intent!;
      expect(intent).toMatchObject({
        status: 'requires_payment_method',
        last_payment_error: { code: 'card_declined' },
      });
      await receiver.waitForCount(3);
      expect(typesFrom(0)).toEqual([
        'payment_intent.created',
        'charge.failed',
        'payment_intent.payment_failed',
      ]);

      // Another card on the same PaymentIntent pays it.
      const retried = await stripe.paymentIntents.confirm(intent.id, {
        payment_method: 'pm_card_mastercard',
      });
      expect(retried).toMatchObject({ status: 'succeeded', amount_received: 2000 });
    });

    it('authorizes with manual capture, captures part, and releases the rest', async () => {
      const intent = await stripe.paymentIntents.create({
        amount: 3000,
        currency: 'usd',
        payment_method: 'pm_card_visa',
        capture_method: 'manual',
        confirm: true,
      });
      expect(intent).toMatchObject({ status: 'requires_capture', amount_capturable: 3000 });
      const refund = await stripe.refunds.create({ payment_intent: intent.id }).catch((e: unknown) => e);
      expect(refund).toMatchObject({ statusCode: 400, code: 'charge_not_refundable' });

      const captured = await stripe.paymentIntents.capture(intent.id, { amount_to_capture: 2000 });
      expect(captured).toMatchObject({ status: 'succeeded', amount_received: 2000, amount_capturable: 0 });
      expect(await stripe.charges.retrieve(captured.latest_charge as string)).toMatchObject({
        captured: true,
        amount_captured: 3000,
        amount_refunded: 1000,
      });
      await receiver.waitForCount(5);
      expect(typesFrom(0)).toEqual([
        'payment_intent.created',
        'charge.succeeded',
        'payment_intent.amount_capturable_updated',
        'charge.captured',
        'payment_intent.succeeded',
      ]);
    });

    it('cancels an authorization: charge.refunded, payment_intent.canceled', async () => {
      const intent = await stripe.paymentIntents.create({
        amount: 3000,
        currency: 'usd',
        payment_method: 'pm_card_visa',
        capture_method: 'manual',
        confirm: true,
      });
      const canceled = await stripe.paymentIntents.cancel(intent.id, {
        cancellation_reason: 'requested_by_customer',
      });
      expect(canceled).toMatchObject({ status: 'canceled', cancellation_reason: 'requested_by_customer' });
      await receiver.waitForCount(5);
      expect(typesFrom(3)).toEqual(['charge.refunded', 'payment_intent.canceled']);
      const again = await stripe.paymentIntents.cancel(intent.id).catch((e: unknown) => e);
      expect(again).toMatchObject({ statusCode: 400, code: 'payment_intent_unexpected_state' });
    });

    it('refuses what it does not model, naming the parameter, and what the pinned version replaced', async () => {
      const cases: [Stripe.PaymentIntentCreateParams, string][] = [
        [{ amount: 100, currency: 'usd', transfer_group: 'g' }, 'transfer_group'],
        [{ amount: 100, currency: 'usd', payment_method_types: ['card'] } as never, 'payment_method_types'],
        [
          { amount: 100, currency: 'usd', allowed_payment_method_types: ['sepa_debit'] },
          'allowed_payment_method_types[0]',
        ],
        [{ amount: 100, currency: 'usd', customer: 'cus_nope' }, 'customer'],
      ];
      for (const [params, param] of cases) {
        const error = await stripe.paymentIntents.create(params).catch((e: unknown) => e);
        expect(error).toMatchObject({ statusCode: 400, param });
      }
      const raw = await stripe.paymentMethods
        .create({
          type: 'card',
          card: { number: '4242424242424242', exp_month: 12, exp_year: 2034, cvc: '123' },
        })
        .catch((e: unknown) => e);
      expect(raw).toMatchObject({ statusCode: 402, message: expect.stringMatching(/unsafe/) });
      expect(await stripe.paymentIntents.list()).toMatchObject({ data: [] });
      expect(receiver.received).toEqual([]);
    });
  });

  describe('refunds', () => {
    it('refunds a payment in full: pending, then succeeded after the settlement delay', async () => {
      const intent = await paidIntent();
      const refund = await stripe.refunds.create({
        payment_intent: intent.id,
        reason: 'requested_by_customer',
        metadata: { ticket: 'T-1' },
      });
      expect(refund).toMatchObject({
        object: 'refund',
        status: 'pending',
        amount: 5000,
        currency: 'usd',
        charge: intent.latest_charge,
        payment_intent: intent.id,
        reason: 'requested_by_customer',
        metadata: { ticket: 'T-1' },
      });
      await receiver.waitForCount(5);
      expect(typesFrom(3)).toEqual(['refund.created', 'charge.refunded']);
      expect(eventObject<Stripe.Charge>('charge.refunded')).toMatchObject({
        amount_refunded: 5000,
        refunded: true,
      });

      await advanceSandboxClock(sandbox.baseUrl, SETTLEMENT_SECONDS);
      await receiver.waitForCount(6);
      expect(typesFrom(5)).toEqual(['refund.updated']);
      expect(eventObject<Stripe.Refund>('refund.updated')).toMatchObject({
        id: refund.id,
        status: 'succeeded',
      });
      expect(await stripe.refunds.retrieve(refund.id)).toMatchObject({ status: 'succeeded' });
      expect((await stripe.refunds.list({ payment_intent: intent.id })).data.map((r) => r.id)).toEqual([
        refund.id,
      ]);
    });

    it('adds partial refunds up, and refuses one over what is left, changing nothing', async () => {
      const intent = await paidIntent();
      const charge = intent.latest_charge as string;
      const first = await stripe.refunds.create({ charge, amount: 1500 });
      const second = await stripe.refunds.create({ payment_intent: intent.id, amount: 2500 });
      expect([first.amount, second.amount]).toEqual([1500, 2500]);
      expect(await stripe.charges.retrieve(charge)).toMatchObject({ amount_refunded: 4000, refunded: false });

      const over = await stripe.refunds.create({ charge, amount: 1001 }).catch((e: unknown) => e);
      expect(over).toMatchObject({
        type: 'StripeInvalidRequestError',
        statusCode: 400,
        code: 'amount_too_large',
        param: 'amount',
        message: 'Refund amount (1001) is greater than unrefunded amount on charge (1000)',
      });
      expect(await stripe.charges.retrieve(charge)).toMatchObject({ amount_refunded: 4000 });
      expect((await stripe.refunds.list({ charge })).data).toHaveLength(2);

      const rest = await stripe.refunds.create({ charge });
      expect(rest.amount).toBe(1000);
      expect(await stripe.charges.retrieve(charge)).toMatchObject({ amount_refunded: 5000, refunded: true });
      const more = await stripe.refunds.create({ charge }).catch((e: unknown) => e);
      expect(more).toMatchObject({ statusCode: 400, code: 'charge_already_refunded' });
      await receiver.waitForCount(9);
      expect(typesFrom(3)).toEqual([
        'refund.created',
        'charge.refunded',
        'refund.created',
        'charge.refunded',
        'refund.created',
        'charge.refunded',
      ]);
    });

    it('refunds a Checkout payment made on the hosted page', async () => {
      const session = await stripe.checkout.sessions.create({
        mode: 'payment',
        success_url: 'https://shop.example/ok?session={CHECKOUT_SESSION_ID}',
        line_items: [
          { price_data: { currency: 'eur', unit_amount: 1250, product_data: { name: 'Mug' } }, quantity: 2 },
        ],
      });
      expect((await payWithCard(session.url!, { number: TEST_CARDS.success })).status).toBe(303);
      const paid = await stripe.checkout.sessions.retrieve(session.id);
      const refund = await stripe.refunds.create({
        payment_intent: paid.payment_intent as string,
        amount: 1250,
      });
      expect(refund).toMatchObject({ status: 'pending', amount: 1250, currency: 'eur' });
      await advanceSandboxClock(sandbox.baseUrl, SETTLEMENT_SECONDS);
      expect(await stripe.refunds.retrieve(refund.id)).toMatchObject({ status: 'succeeded' });
    });

    it("fails a refund of Stripe's refund-failure card (4000 0000 0000 5126) after the delay", async () => {
      const intent = await paidIntent('pm_card_refundFail');
      const refund = await stripe.refunds.create({ payment_intent: intent.id });
      expect(refund.status).toBe('pending');
      await advanceSandboxClock(sandbox.baseUrl, SETTLEMENT_SECONDS);
      await receiver.waitForCount(7);
      expect(typesFrom(3)).toEqual(['refund.created', 'charge.refunded', 'refund.updated', 'refund.failed']);
      expect(eventObject<Stripe.Refund>('refund.failed')).toMatchObject({
        id: refund.id,
        status: 'failed',
        failure_reason: 'expired_or_canceled_card',
        failure_balance_transaction: expect.stringMatching(/^txn_/),
      });
      // The money is back on the charge: it can be refunded again.
      expect(await stripe.charges.retrieve(intent.latest_charge as string)).toMatchObject({
        amount_refunded: 0,
        refunded: false,
      });
    });

    it('refuses a refund of nothing refundable, naming the parameter', async () => {
      const unpaid = await stripe.paymentIntents.create({ amount: 900, currency: 'usd' });
      const cases: [Stripe.RefundCreateParams, string][] = [
        [{ payment_intent: unpaid.id }, 'payment_intent'],
        [{ charge: 'ch_nope' }, 'charge'],
        [{}, 'charge'],
        [{ payment_intent: unpaid.id, reverse_transfer: true }, 'reverse_transfer'],
        [{ payment_intent: unpaid.id, reason: 'changed_mind' }, 'reason'],
      ];
      for (const [params, param] of cases) {
        expect(await stripe.refunds.create(params).catch((e: unknown) => e)).toMatchObject({
          statusCode: 400,
          param,
        });
      }
      expect((await stripe.refunds.list()).data).toEqual([]);
    });
  });

  describe('disputes', () => {
    it('opens a chargeback for 4000 0000 0000 0259, and closes it won', async () => {
      const intent = await paidIntent('pm_card_createDispute');
      await receiver.waitForCount(5);
      expect(typesFrom(3)).toEqual(['charge.dispute.created', 'charge.dispute.funds_withdrawn']);
      const created = eventObject<Stripe.Dispute>('charge.dispute.created');
      expect(created).toMatchObject({
        object: 'dispute',
        amount: 5000,
        charge: intent.latest_charge,
        payment_intent: intent.id,
        reason: 'fraudulent',
        status: 'needs_response',
        is_charge_refundable: false,
        evidence_details: { due_by: expect.any(Number), has_evidence: false },
      });
      expect(await stripe.charges.retrieve(intent.latest_charge as string)).toMatchObject({ disputed: true });
      const refund = await stripe.refunds.create({ payment_intent: intent.id }).catch((e: unknown) => e);
      expect(refund).toMatchObject({ statusCode: 400, code: 'charge_disputed' });

      const closed = await closeDispute(created.id, 'won');
      expect(closed.status).toBe(200);
      await receiver.waitForCount(8);
      expect(typesFrom(5)).toEqual([
        'charge.dispute.updated',
        'charge.dispute.closed',
        'charge.dispute.funds_reinstated',
      ]);
      expect(eventObject<Stripe.Dispute>('charge.dispute.updated')).toMatchObject({
        status: 'under_review',
        evidence_details: { has_evidence: true, submission_count: 1 },
      });
      expect(eventObject<Stripe.Dispute>('charge.dispute.closed').status).toBe('won');
      expect(await stripe.disputes.retrieve(created.id)).toMatchObject({ status: 'won' });
      expect((await closeDispute(created.id, 'lost')).status).toBe(400);
      expect(await stripe.disputes.retrieve(created.id)).toMatchObject({ status: 'won' });
    });

    it('opens a dispute after a hosted-page payment with the dispute card, and closes it lost', async () => {
      const session = await stripe.checkout.sessions.create({
        mode: 'payment',
        success_url: 'https://shop.example/ok',
        line_items: [
          {
            price_data: { currency: 'usd', unit_amount: 4200, product_data: { name: 'Kettle' } },
            quantity: 1,
          },
        ],
      });
      expect((await payWithCard(session.url!, { number: '4000 0000 0000 0259' })).status).toBe(303);
      await receiver.waitForCount(6);
      expect(typesFrom(0)).toEqual([
        'payment_intent.created',
        'charge.succeeded',
        'payment_intent.succeeded',
        'checkout.session.completed',
        'charge.dispute.created',
        'charge.dispute.funds_withdrawn',
      ]);
      const [dispute] = (
        await stripe.disputes.list({
          payment_intent: eventObject<Stripe.Charge>('charge.succeeded').payment_intent as string,
        })
      ).data;
      expect(dispute).toMatchObject({ amount: 4200, status: 'needs_response' });

      expect((await closeDispute(dispute.id, 'lost')).status).toBe(200);
      await receiver.waitForCount(8);
      expect(typesFrom(6)).toEqual(['charge.dispute.updated', 'charge.dispute.closed']);
      expect(eventObject<Stripe.Dispute>('charge.dispute.closed')).toMatchObject({
        id: dispute.id,
        status: 'lost',
      });
    });

    it('opens an inquiry for pm_card_createDisputeInquiry; closed won, it is warning_closed', async () => {
      const intent = await paidIntent('pm_card_createDisputeInquiry');
      await receiver.waitForCount(4);
      const inquiry = eventObject<Stripe.Dispute>('charge.dispute.created');
      expect(inquiry).toMatchObject({ status: 'warning_needs_response', is_charge_refundable: true });
      expect((await closeDispute(inquiry.id, 'won')).status).toBe(200);
      await receiver.waitForCount(6);
      expect(typesFrom(3)).toEqual([
        'charge.dispute.created',
        'charge.dispute.updated',
        'charge.dispute.closed',
      ]);
      expect(await stripe.disputes.retrieve(inquiry.id)).toMatchObject({ status: 'warning_closed' });
      // An inquiry is no chargeback: the payment can still be refunded.
      expect(await stripe.refunds.create({ payment_intent: intent.id })).toMatchObject({ status: 'pending' });
    });

    it('refuses to close an unknown dispute, or with another outcome', async () => {
      expect((await closeDispute('du_nope', 'won')).status).toBe(404);
      const intent = await paidIntent('pm_card_createDispute');
      const [dispute] = (await stripe.disputes.list({ payment_intent: intent.id })).data;
      const bad = await fetch(`${sandbox.baseUrl}/_sandbox/disputes/${dispute.id}/close`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ outcome: 'draw' }),
      });
      expect(bad.status).toBe(400);
      expect(await stripe.disputes.retrieve(dispute.id)).toMatchObject({ status: 'needs_response' });
    });
  });
});
