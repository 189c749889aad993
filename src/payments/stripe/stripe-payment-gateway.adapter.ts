import { Injectable, Logger } from '@nestjs/common';
import Stripe from 'stripe';
import { AppConfig } from '../../config';
import { Money } from '../../shared/money';
import {
  CheckoutNotOpenError,
  PaymentProviderError,
  RefundDeclinedError,
  UnknownProviderEventError,
  WebhookSignatureError,
} from '../payment.errors';
import {
  type CheckoutRequest,
  type CheckoutSession,
  type DisputeInfo,
  PaymentGateway,
  type PaymentEvent,
  type RefundInfo,
  type RefundRequest,
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
          payment_intent_data: { metadata: { orderId: request.orderId } },
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

  async createRefund(request: RefundRequest, idempotencyKey: string): Promise<RefundInfo> {
    try {
      const refund = await this.stripe.refunds.create(
        {
          payment_intent: request.paymentIntentId,
          amount: request.amount.amount,
          metadata: { orderId: request.orderId, refundId: request.refundId },
        },
        { idempotencyKey },
      );
      return toRefundInfo(refund);
    } catch (error) {
      // An answered refusal (already refunded, amount too large, …) is final for this key.
      if (
        error instanceof Stripe.errors.StripeInvalidRequestError ||
        error instanceof Stripe.errors.StripeCardError
      ) {
        this.logger.warn({ code: error.code, requestId: error.requestId }, 'Stripe declined a refund');
        throw new RefundDeclinedError(error.message);
      }
      throw this.providerError('create a refund', error);
    }
  }

  async retrieveEvent(eventId: string): Promise<PaymentEvent> {
    try {
      return toPaymentEvent(await this.stripe.events.retrieve(eventId));
    } catch (error) {
      if (error instanceof Stripe.errors.StripeInvalidRequestError && error.statusCode === 404) {
        throw new UnknownProviderEventError();
      }
      throw this.providerError('retrieve an event', error);
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
    case 'refund.created':
    case 'refund.updated':
    case 'refund.failed':
      return { ...base, type: 'refund.updated', refund: toRefundInfo(event.data.object) };
    case 'charge.refunded': {
      const charge = event.data.object;
      return {
        ...base,
        type: 'charge.refunded',
        chargeId: charge.id,
        paymentIntentId: idOf(charge.payment_intent),
        amountRefunded: moneyOrNull(charge.amount_refunded, charge.currency),
        // Listed only where the API version or the request expanded them.
        refunds: (charge.refunds?.data ?? []).map(toRefundInfo),
      };
    }
    case 'charge.dispute.created':
    case 'charge.dispute.updated':
    case 'charge.dispute.closed':
      return { ...base, type: 'dispute.updated', dispute: toDisputeInfo(event.data.object) };
    default:
      return { ...base, type: 'unsupported' };
  }
}

function toRefundInfo(refund: Stripe.Refund): RefundInfo {
  return {
    id: refund.id,
    status: oneOf(
      refund.status,
      ['pending', 'requires_action', 'succeeded', 'failed', 'canceled'] as const,
      'pending',
    ),
    amount: moneyOrNull(refund.amount, refund.currency),
    paymentIntentId: idOf(refund.payment_intent),
    chargeId: idOf(refund.charge),
    orderId: refund.metadata?.orderId ?? null,
    refundId: refund.metadata?.refundId ?? null,
    failureReason: refund.failure_reason ?? null,
  };
}

function toDisputeInfo(dispute: Stripe.Dispute): DisputeInfo {
  return {
    id: dispute.id,
    status: oneOf(
      dispute.status,
      [
        'warning_needs_response',
        'warning_under_review',
        'warning_closed',
        'needs_response',
        'under_review',
        'won',
        'lost',
      ] as const,
      'needs_response',
    ),
    amount: moneyOrNull(dispute.amount, dispute.currency),
    reason: dispute.reason,
    paymentIntentId: idOf(dispute.payment_intent),
    chargeId: idOf(dispute.charge),
    evidenceDueBy: dispute.evidence_details?.due_by ? new Date(dispute.evidence_details.due_by * 1000) : null,
  };
}

function idOf(value: string | { id: string } | null | undefined): string | null {
  return typeof value === 'string' ? value : (value?.id ?? null);
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
