import { Injectable, Logger } from '@nestjs/common';
import Stripe from 'stripe';
import { AppConfig } from '../../config';
import { Money } from '../../shared/money';
import { CheckoutNotOpenError, PaymentProviderError, WebhookSignatureError } from '../payment.errors';
import {
  type CheckoutRequest,
  type CheckoutSession,
  PaymentGateway,
  type PaymentEvent,
} from '../payment-gateway.port';

/** Seconds a signed webhook stays acceptable (stripe-node's default): older ones are replays. */
const SIGNATURE_TOLERANCE_SECONDS = 300;

/**
 * `PaymentGateway` on the official stripe SDK. Host, port and protocol come from configuration, so
 * the same adapter talks to api.stripe.com or to our offline sandbox.
 */
@Injectable()
export class StripePaymentGateway extends PaymentGateway {
  private readonly logger = new Logger(StripePaymentGateway.name);
  private readonly stripe: Stripe;
  private readonly webhookSecrets: readonly string[];

  constructor(config: AppConfig) {
    super();
    const { secretKey, api, timeoutMs, webhookSecrets } = config.stripe;
    this.stripe = new Stripe(secretKey, {
      ...api,
      timeout: timeoutMs,
      // Creation carries our idempotency key, so a retry after a lost answer is safe.
      maxNetworkRetries: 1,
      telemetry: false,
      appInfo: { name: 'payment-flow-service' },
    });
    this.webhookSecrets = webhookSecrets;
  }

  async createCheckout(request: CheckoutRequest, idempotencyKey: string): Promise<CheckoutSession> {
    const session = await this.call('create a checkout session', () =>
      this.stripe.checkout.sessions.create(
        {
          mode: 'payment',
          line_items: request.lineItems.map((item) => ({
            price_data: {
              currency: item.unitPrice.currency,
              unit_amount: item.unitPrice.amount,
              product_data: { name: item.name },
            },
            quantity: item.quantity,
          })),
          success_url: request.successUrl,
          cancel_url: request.cancelUrl,
          client_reference_id: request.orderId,
          customer_email: request.customerEmail,
          metadata: { orderId: request.orderId },
          // receipt_email: Stripe e-mails the receipt of the payment there (the shop promises one).
          payment_intent_data: {
            metadata: { orderId: request.orderId },
            receipt_email: request.customerEmail,
          },
          expires_at: Math.floor(request.expiresAt.getTime() / 1000),
        },
        { idempotencyKey },
      ),
    );
    return toCheckoutSession(session);
  }

  async retrieveCheckout(sessionId: string): Promise<CheckoutSession> {
    const session = await this.call('retrieve a checkout session', () =>
      this.stripe.checkout.sessions.retrieve(sessionId, { expand: ['payment_intent'] }),
    );
    return toCheckoutSession(session);
  }

  async expireCheckout(sessionId: string): Promise<CheckoutSession> {
    try {
      return toCheckoutSession(await this.stripe.checkout.sessions.expire(sessionId));
    } catch (error) {
      // Stripe answers 400 when the session is complete or already expired.
      if (error instanceof Stripe.errors.StripeInvalidRequestError) throw new CheckoutNotOpenError();
      throw this.providerError('expire a checkout session', error);
    }
  }

  verifyWebhook(rawBody: Buffer, signatureHeader: string | undefined): PaymentEvent {
    if (!signatureHeader) throw new WebhookSignatureError('Missing Stripe-Signature header');
    if (this.webhookSecrets.length === 0) throw new WebhookSignatureError('No webhook secret is configured');
    let lastError: unknown;
    // Every configured secret is tried, so a rotation never drops an event.
    for (const secret of this.webhookSecrets) {
      try {
        const event = this.stripe.webhooks.constructEvent(
          rawBody,
          signatureHeader,
          secret,
          SIGNATURE_TOLERANCE_SECONDS,
        );
        return toPaymentEvent(event);
      } catch (error) {
        if (!(error instanceof Stripe.errors.StripeSignatureVerificationError)) throw error;
        lastError = error;
      }
    }
    throw new WebhookSignatureError((lastError as Error).message);
  }

  private async call<T>(what: string, request: () => Promise<T>): Promise<T> {
    try {
      return await request();
    } catch (error) {
      throw this.providerError(what, error);
    }
  }

  private providerError(what: string, error: unknown): PaymentProviderError {
    const details =
      error instanceof Stripe.errors.StripeError
        ? { type: error.type, code: error.code, statusCode: error.statusCode, requestId: error.requestId }
        : {};
    this.logger.warn({ ...details, err: (error as Error).message }, `Stripe: could not ${what}`);
    return new PaymentProviderError();
  }
}

function toCheckoutSession(session: Stripe.Checkout.Session): CheckoutSession {
  const intent = session.payment_intent;
  return {
    id: session.id,
    url: session.url ?? null,
    status: oneOf(session.status, ['open', 'complete', 'expired'] as const, 'open'),
    paymentStatus: oneOf(
      session.payment_status,
      ['paid', 'unpaid', 'no_payment_required'] as const,
      'unpaid',
    ),
    amount: moneyOrNull(session.amount_total, session.currency),
    orderId: session.metadata?.orderId ?? session.client_reference_id ?? null,
    paymentIntentId: typeof intent === 'string' ? intent : (intent?.id ?? null),
    expiresAt: new Date(session.expires_at * 1000),
    settlement: intent && typeof intent !== 'string' ? settlementOf(intent) : undefined,
  };
}

function settlementOf(intent: Stripe.PaymentIntent): CheckoutSession['settlement'] {
  switch (intent.status) {
    case 'succeeded':
      return { state: 'succeeded' };
    case 'processing':
      return { state: 'pending' };
    case 'requires_payment_method':
    case 'canceled':
      return { state: 'failed', reason: intent.last_payment_error?.message ?? 'The payment failed' };
    default:
      return undefined;
  }
}

function toPaymentEvent(event: Stripe.Event): PaymentEvent {
  const base = { id: event.id, providerType: event.type, occurredAt: new Date(event.created * 1000) };
  switch (event.type) {
    case 'checkout.session.completed':
      return { ...base, type: 'checkout.completed', session: toCheckoutSession(event.data.object) };
    case 'checkout.session.async_payment_succeeded':
      return { ...base, type: 'checkout.async_succeeded', session: toCheckoutSession(event.data.object) };
    case 'checkout.session.async_payment_failed':
      return { ...base, type: 'checkout.async_failed', session: toCheckoutSession(event.data.object) };
    case 'checkout.session.expired':
      return { ...base, type: 'checkout.expired', session: toCheckoutSession(event.data.object) };
    case 'payment_intent.payment_failed': {
      const intent = event.data.object;
      const error = intent.last_payment_error;
      return {
        ...base,
        type: 'payment.declined',
        paymentIntentId: intent.id,
        orderId: intent.metadata?.orderId ?? null,
        amount: moneyOrNull(intent.amount, intent.currency),
        code: error?.code ?? null,
        declineCode: error?.decline_code ?? null,
        message: error?.message ?? 'The payment failed',
      };
    }
    default:
      return { ...base, type: 'unsupported' };
  }
}

/** Amounts as Stripe reported them; anything unusable becomes null (and then never matches). */
function moneyOrNull(amount: number | null | undefined, currency: string | null | undefined): Money | null {
  if (amount == null || !currency) return null;
  try {
    return Money.of(amount, currency);
  } catch {
    return null;
  }
}

/** Stripe's enums are open-ended; anything unknown reads as the cautious default. */
function oneOf<T extends string>(value: string | null | undefined, known: readonly T[], fallback: T): T {
  return known.find((item) => item === value) ?? fallback;
}
