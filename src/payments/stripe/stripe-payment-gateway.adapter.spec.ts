import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Logger } from '@nestjs/common';
import { StripeStub } from '../../../test/support/stripe-stub';
import { signWithHmac, signWithStripe, WEBHOOK_SECRET } from '../../../test/support/stripe-signature';
import { AppConfig, parseEnv } from '../../config';
import { Money } from '../../shared/money';
import {
  CheckoutNotOpenError,
  PaymentProviderRefusedError,
  PaymentProviderUnavailableError,
  WebhookSignatureError,
} from '../payment.errors';
import type { CheckoutRequest } from '../payment-gateway.port';
import { StripePaymentGateway } from './stripe-payment-gateway.adapter';

/** The adapter's real HTTP requests, against a local server standing in for api.stripe.com. */
describe('StripePaymentGateway', () => {
  const stub = new StripeStub();
  let gateway: StripePaymentGateway;

  beforeAll(async () => {
    Logger.overrideLogger(false); // the failures below are expected; their warnings are noise here
    await stub.start();
    gateway = new StripePaymentGateway(
      new AppConfig(
        parseEnv({
          STRIPE_SECRET_KEY: 'sk_test_adapter',
          STRIPE_WEBHOOK_SECRET: WEBHOOK_SECRET,
          STRIPE_API_HOST: '127.0.0.1',
          STRIPE_API_PORT: String(stub.port),
          STRIPE_API_PROTOCOL: 'http',
          STRIPE_TIMEOUT_MS: '300',
        }),
      ),
    );
  });
  afterAll(() => stub.stop());
  beforeEach(() => stub.reset());

  const request: CheckoutRequest = {
    orderId: '7d0b8f8e-4a4b-4c55-9d7e-0a1b2c3d4e5f',
    attemptId: '0e4c3c8a-3a43-4d0f-9b7a-5a6b7c8d9e0f',
    customerEmail: 'buyer@example.com',
    lineItems: [
      { name: 'Ceremonial matcha, 30 g', unitPrice: Money.of(2400, 'jpy'), quantity: 2 },
      { name: 'Mug & "saucer"', unitPrice: Money.of(1800, 'jpy'), quantity: 1 },
    ],
    successUrl: 'https://shop.example.com/checkout/success?session_id={CHECKOUT_SESSION_ID}',
    cancelUrl: 'https://shop.example.com/checkout/cancel',
    expiresAt: new Date('2030-01-01T00:30:00Z'),
  };

  it('creates a session with form-encoded parameters, our idempotency key and the pinned API version', async () => {
    const session = await gateway.createCheckout(request, 'checkout:order:1');
    const [sent] = stub.requests;
    expect(sent).toMatchObject({ method: 'POST', path: '/v1/checkout/sessions' });
    expect(sent.headers['idempotency-key']).toBe('checkout:order:1');
    expect(sent.headers['stripe-version']).toBe('2026-10-28.endive');
    expect(Object.fromEntries(sent.form)).toEqual({
      mode: 'payment',
      'line_items[0][price_data][currency]': 'jpy',
      'line_items[0][price_data][unit_amount]': '2400',
      'line_items[0][price_data][product_data][name]': 'Ceremonial matcha, 30 g',
      'line_items[0][quantity]': '2',
      'line_items[1][price_data][currency]': 'jpy',
      'line_items[1][price_data][unit_amount]': '1800',
      'line_items[1][price_data][product_data][name]': 'Mug & "saucer"',
      'line_items[1][quantity]': '1',
      success_url: request.successUrl,
      cancel_url: request.cancelUrl,
      client_reference_id: request.orderId,
      customer_email: 'buyer@example.com',
      'metadata[orderId]': request.orderId,
      'metadata[attemptId]': request.attemptId,
      'payment_intent_data[metadata][orderId]': request.orderId,
      'payment_intent_data[metadata][attemptId]': request.attemptId,
      'payment_intent_data[receipt_email]': 'buyer@example.com',
      expires_at: String(Date.parse('2030-01-01T00:30:00Z') / 1000),
    });
    expect(session).toMatchObject({
      status: 'open',
      paymentStatus: 'unpaid',
      orderId: request.orderId,
      expiresAt: request.expiresAt,
    });
    expect(session.amount?.equals(Money.of(6600, 'jpy'))).toBe(true);
  });

  it('turns an answered Stripe 500 into PaymentProviderRefusedError, after one retry with the same key', async () => {
    stub.failNext(500);
    stub.failNext(500);
    await expect(gateway.createCheckout(request, 'checkout:order:2')).rejects.toBeInstanceOf(
      PaymentProviderRefusedError,
    );
    expect(stub.requests.map((r) => r.headers['idempotency-key'])).toEqual([
      'checkout:order:2',
      'checkout:order:2',
    ]);
  });

  it('turns a timeout into PaymentProviderUnavailableError (outcome unknown)', async () => {
    stub.hangNext();
    stub.hangNext();
    await expect(gateway.createCheckout(request, 'checkout:order:3')).rejects.toBeInstanceOf(
      PaymentProviderUnavailableError,
    );
  });

  it('retrieves with the payment expanded, and reads its settlement', async () => {
    const { id } = await gateway.createCheckout(request, 'checkout:order:4');
    stub.update(id, {
      status: 'complete',
      payment_status: 'unpaid',
      payment_intent: { id: 'pi_1', object: 'payment_intent', status: 'processing' },
    });
    const session = await gateway.retrieveCheckout(id);
    expect(stub.requests.at(-1)?.path).toBe(`/v1/checkout/sessions/${id}`);
    expect(stub.requests.at(-1)?.query.getAll('expand[0]')).toEqual(['payment_intent']);
    expect(session).toMatchObject({
      status: 'complete',
      paymentIntentId: 'pi_1',
      settlement: { state: 'pending' },
    });
  });

  it('says so when a session to expire is no longer open', async () => {
    const { id } = await gateway.createCheckout(request, 'checkout:order:5');
    await expect(gateway.expireCheckout(id)).resolves.toMatchObject({ status: 'expired' });
    await expect(gateway.expireCheckout(id)).rejects.toBeInstanceOf(CheckoutNotOpenError);
  });

  describe('verifyWebhook', () => {
    const fixture = (name: string) =>
      readFileSync(join(__dirname, '../../../test/fixtures/stripe-events', `${name}.json`), 'utf8')
        .replace(/"__AMOUNT__"/g, '2599')
        .replace(/__ORDER_ID__/g, request.orderId)
        .replace(/__SESSION_ID__/g, 'cs_test_1');

    it('reads a decline in our terms', () => {
      const body = fixture('payment_intent.payment_failed');
      const event = gateway.verifyWebhook(Buffer.from(body), signWithStripe(body));
      expect(event).toMatchObject({
        id: 'evt_3TRnR0Lk7x9YzW0a0fK2wB7x',
        type: 'payment.declined',
        providerType: 'payment_intent.payment_failed',
        orderId: request.orderId,
        code: 'card_declined',
        declineCode: 'generic_decline',
        message: 'Your card was declined.',
      });
    });

    it('reads a completed session in our terms', () => {
      const body = fixture('checkout.session.completed.paid');
      const event = gateway.verifyWebhook(Buffer.from(body), signWithStripe(body));
      expect(event).toMatchObject({
        type: 'checkout.completed',
        session: { id: 'cs_test_1', status: 'complete', paymentStatus: 'paid', orderId: request.orderId },
      });
    });

    it('refuses a body whose signature does not cover it', () => {
      const body = fixture('checkout.session.expired');
      expect(() => gateway.verifyWebhook(Buffer.from(body + ' '), signWithStripe(body))).toThrow(
        WebhookSignatureError,
      );
      expect(() => gateway.verifyWebhook(Buffer.from(body), undefined)).toThrow(
        'Missing Stripe-Signature header',
      );
    });

    it('verifies the bytes as signed when they hold multi-byte UTF-8, and refuses one byte changed', () => {
      const body = fixture('checkout.session.completed.paid').replace(
        '"livemode": false',
        '"livemode": false, "note": "Café, 東京 ✓ \u{1F600}"',
      );
      expect(body).toContain('東京');
      const bytes = Buffer.from(body, 'utf8');
      const signature = signWithHmac(body);
      expect(gateway.verifyWebhook(bytes, signature)).toMatchObject({ type: 'checkout.completed' });
      // The last byte of "東" (0xE6 0x9D 0xB1) changed: another character, another signature.
      const altered = Buffer.from(bytes);
      altered[altered.indexOf(Buffer.from('東', 'utf8')) + 2] ^= 0x01;
      expect(() => gateway.verifyWebhook(altered, signature)).toThrow(WebhookSignatureError);
    });

    it('refuses malformed headers with a signature error, never a crash: empty v1, non-hex, future t', () => {
      const body = fixture('checkout.session.expired');
      const now = Math.floor(Date.now() / 1000);
      const valid = signWithStripe(body);
      const hex = valid.split('v1=')[1];
      for (const header of [
        `t=${now},v1=`,
        `t=${now},v1=${'z'.repeat(64)}`,
        `t=${now},v1=${hex.slice(0, 10)}`,
        `t=${now + 365 * 86_400},v1=${hex}`,
        `t=abc,v1=${hex}`,
        `v1=${hex}`,
        `t=${now}`,
        'garbage',
      ]) {
        expect(() => gateway.verifyWebhook(Buffer.from(body), header)).toThrow(WebhookSignatureError);
      }
    });

    it('keeps an authentic event it cannot read as malformed, under an id derived from its bytes', () => {
      for (const body of [
        '[1,2]',
        'not json',
        JSON.stringify({
          id: 'evt_1',
          type: 'checkout.session.completed',
          created: 1,
          livemode: false,
          data: {},
        }),
        JSON.stringify({ id: 'x'.repeat(300), type: 't', created: 1, livemode: false, data: { object: {} } }),
      ]) {
        const event = gateway.verifyWebhook(Buffer.from(body), signWithStripe(body));
        expect(event).toMatchObject({ type: 'malformed', payload: body, livemode: null });
        expect(event.id.length).toBeLessThanOrEqual(255);
        expect(gateway.verifyWebhook(Buffer.from(body), signWithStripe(body)).id).toBe(event.id);
      }
    });
  });
});
