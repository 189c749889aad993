import { createHash } from 'node:crypto';
import { Injectable, Logger } from '@nestjs/common';
import Stripe from 'stripe';
import { AppConfig } from '../../config';
import { Money } from '../../shared/money';
import {
  CheckoutNotOpenError,
  CheckoutSessionNotFoundError,
  PaymentProviderRefusedError,
  PaymentProviderUnavailableError,
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

/**
 * Seconds a signed webhook stays acceptable (stripe-node's default): older ones are replays, and a
 * timestamp this far in the future is no clock skew but a forgery attempt.
 */
const SIGNATURE_TOLERANCE_SECONDS = 300;
/** What fits our ledger's columns. */
const MAX_EVENT_ID = 255;
const MAX_EVENT_TYPE = 128;

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
          metadata: { orderId: request.orderId, attemptId: request.attemptId },
          // receipt_email: Stripe e-mails the receipt of the payment there (the shop promises one).
          payment_intent_data: {
            metadata: { orderId: request.orderId, attemptId: request.attemptId },
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
      if (error instanceof Stripe.errors.StripeInvalidRequestError && error.statusCode === 400) {
        throw new CheckoutNotOpenError();
      }
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
      // Read exactly as a delivery of the same event is (malformed included).
      const event = await this.stripe.events.retrieve(eventId);
      return toPaymentEvent(Buffer.from(JSON.stringify(event), 'utf8'));
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
    checkSignatureHeader(signatureHeader, Date.now());
    const verifier = this.stripe.webhooks.signature;
    if (!verifier) throw new Error('The stripe SDK has no webhook signature verifier');
    // Decoded once, as the SDK decodes bytes it is given (UTF-8, a bad sequence replaced), for the
    // signature under each secret and for reading the event.
    const payload = rawBody.toString('utf8');
    let lastError: unknown;
    // Every configured secret is tried, so a rotation never drops an event.
    for (const secret of this.webhookSecrets) {
      try {
        verifier.verifyHeader(payload, signatureHeader, secret, SIGNATURE_TOLERANCE_SECONDS);
        return toPaymentEvent(rawBody, payload);
      } catch (error) {
        if (!(error instanceof Stripe.errors.StripeSignatureVerificationError)) throw error;
        lastError = error;
      }
    }
    throw new WebhookSignatureError(firstLine((lastError as Error).message));
  }

  private async call<T>(what: string, request: () => Promise<T>): Promise<T> {
    try {
      return await withoutCallSite(request);
    } catch (error) {
      throw this.providerError(what, error);
    }
  }

  /**
   * Sorts a failed call by what it tells us. No answer (timeout, connection reset) or the same key
   * still in flight: the outcome is unknown, so the same call may be retried with the same key.
   * Any other answer (4xx, 5xx) is stored by Stripe under the key and replayed for 24 hours: that
   * request is over, and only a new key can try again.
   */
  private providerError(what: string, error: unknown): Error {
    if (!(error instanceof Stripe.errors.StripeError)) {
      this.logger.warn({ err: (error as Error).message }, `Stripe: could not ${what}`);
      return new PaymentProviderUnavailableError();
    }
    const details = {
      type: error.type,
      code: error.code,
      statusCode: error.statusCode,
      requestId: error.requestId,
    };
    if (error.statusCode === 404 && error.code === 'resource_missing') {
      this.logger.warn(details, `Stripe: could not ${what}: no such object`);
      return new CheckoutSessionNotFoundError();
    }
    const unknownOutcome =
      error instanceof Stripe.errors.StripeConnectionError ||
      error.statusCode === undefined ||
      (error.statusCode === 409 && error.code === 'idempotency_key_in_use');
    this.logger.warn(
      { ...details, err: firstLine(error.message) },
      `Stripe: could not ${what} (${unknownOutcome ? 'no answer' : `answered ${error.statusCode}`})`,
    );
    return unknownOutcome
      ? new PaymentProviderUnavailableError()
      : new PaymentProviderRefusedError(error.statusCode, firstLine(error.message));
  }
}

/**
 * Starts an SDK request without the call-site stack trace stripe-node captures on every request
 * (`new Error().stack`, only to decorate the errors it may raise later): formatting it costs about
 * a tenth of a millisecond per checkout, and we log those errors by their message alone. What is
 * sent and how its answer is read are unchanged.
 */
function withoutCallSite<T>(start: () => Promise<T>): Promise<T> {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    return start();
  } finally {
    Error.stackTraceLimit = limit;
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
    attemptId: session.metadata?.attemptId ?? null,
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

/**
 * Turns the signed bytes into what they mean for us. Authentic bytes we cannot read never throw
 * (that would answer 5xx and have Stripe retry them for days): they become a `malformed` event.
 */
function toPaymentEvent(rawBody: Buffer, payload = rawBody.toString('utf8')): PaymentEvent {
  const malformed = (problem: string, id?: unknown, type?: unknown): PaymentEvent => ({
    id:
      typeof id === 'string' && id.length > 0 && id.length <= MAX_EVENT_ID
        ? id
        : `malformed_${createHash('sha256').update(rawBody).digest('hex').slice(0, 40)}`,
    providerType: typeof type === 'string' && type.length <= MAX_EVENT_TYPE ? type : 'unreadable',
    occurredAt: new Date(),
    livemode: null,
    type: 'malformed',
    problem,
    payload,
  });
  let parsed: unknown;
  try {
    parsed = JSON.parse(payload);
  } catch {
    return malformed('the body is not JSON');
  }
  if (!isObject(parsed)) return malformed('the body is not a JSON object');
  const { id, type, created, livemode, data } = parsed;
  if (typeof id !== 'string' || id.length === 0 || id.length > MAX_EVENT_ID) {
    return malformed(`the event id is missing or longer than ${MAX_EVENT_ID} characters`, id, type);
  }
  if (typeof type !== 'string' || type.length === 0 || type.length > MAX_EVENT_TYPE) {
    return malformed(`the event type is missing or longer than ${MAX_EVENT_TYPE} characters`, id, type);
  }
  if (typeof created !== 'number' || typeof livemode !== 'boolean') {
    return malformed('the event has no numeric created or boolean livemode', id, type);
  }
  if (!isObject(data) || !isObject(data.object)) return malformed('the event has no data.object', id, type);
  const base = { id, providerType: type, occurredAt: new Date(created * 1000), livemode };
  try {
    return { ...base, ...meaningOf(parsed as unknown as Stripe.Event) };
  } catch (error) {
    return malformed(`its data.object cannot be read: ${(error as Error).message}`, id, type);
  }
}

/** What an event says, apart from the envelope every event has. */
type EventMeaning = PaymentEvent extends infer E
  ? E extends unknown
    ? Omit<E, 'id' | 'providerType' | 'occurredAt' | 'livemode'>
    : never
  : never;

function meaningOf(event: Stripe.Event): EventMeaning {
  switch (event.type) {
    case 'checkout.session.completed':
      return { type: 'checkout.completed', session: toCheckoutSession(readSession(event.data.object)) };
    case 'checkout.session.async_payment_succeeded':
      return { type: 'checkout.async_succeeded', session: toCheckoutSession(readSession(event.data.object)) };
    case 'checkout.session.async_payment_failed':
      return { type: 'checkout.async_failed', session: toCheckoutSession(readSession(event.data.object)) };
    case 'checkout.session.expired':
      return { type: 'checkout.expired', session: toCheckoutSession(readSession(event.data.object)) };
    case 'payment_intent.payment_failed': {
      const intent = event.data.object;
      if (typeof intent.id !== 'string') throw new Error('the payment intent has no id');
      const error = intent.last_payment_error;
      return {
        type: 'payment.declined',
        paymentIntentId: intent.id,
        orderId: stringOrNull(intent.metadata?.orderId),
        attemptId: stringOrNull(intent.metadata?.attemptId),
        amount: moneyOrNull(intent.amount, intent.currency),
        code: error?.code ?? null,
        declineCode: error?.decline_code ?? null,
        message: error?.message ?? 'The payment failed',
      };
    }
    case 'refund.created':
    case 'refund.updated':
    case 'refund.failed':
      return { type: 'refund.updated', refund: toRefundInfo(event.data.object) };
    case 'charge.refunded': {
      const charge = event.data.object;
      return {
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
      return { type: 'dispute.updated', dispute: toDisputeInfo(event.data.object) };
    default:
      return { type: 'unsupported' };
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

/** The fields a session's handling relies on, checked before they are trusted. */
function readSession(object: Stripe.Checkout.Session): Stripe.Checkout.Session {
  if (typeof object.id !== 'string') throw new Error('the session has no id');
  if (typeof object.expires_at !== 'number') throw new Error('the session has no expires_at');
  if (object.metadata != null && !isObject(object.metadata)) throw new Error('its metadata is not an object');
  return object;
}

/**
 * The `Stripe-Signature` header's shape, checked before any cryptography: `t=<unix seconds>` and
 * one or more `v1=<64 hex digits>`, the timestamp no further from now than the tolerance (in the
 * past or the future). Anything else is a 400, never a crash inside the verifier.
 */
function checkSignatureHeader(header: string, nowMs: number): void {
  let timestamp: number | undefined;
  let signatures = 0;
  for (const item of header.split(',')) {
    const separator = item.indexOf('=');
    const key = item.slice(0, separator).trim();
    const value = item.slice(separator + 1).trim();
    if (separator < 0) throw new WebhookSignatureError('Malformed Stripe-Signature header');
    if (key === 't') {
      if (!/^\d{1,12}$/.test(value))
        throw new WebhookSignatureError('Malformed timestamp in Stripe-Signature');
      timestamp = Number(value);
    } else if (key === 'v1') {
      if (!/^[0-9a-f]{64}$/i.test(value)) throw new WebhookSignatureError('Malformed v1 signature');
      signatures++;
    }
  }
  if (timestamp === undefined) throw new WebhookSignatureError('No timestamp in Stripe-Signature');
  if (signatures === 0) throw new WebhookSignatureError('No v1 signature in Stripe-Signature');
  if (Math.abs(nowMs / 1000 - timestamp) > SIGNATURE_TOLERANCE_SECONDS) {
    throw new WebhookSignatureError('Timestamp outside the tolerance zone');
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function stringOrNull(value: unknown): string | null {
  return typeof value === 'string' ? value : null;
}

function firstLine(message: string): string {
  return message.split('\n')[0].trim();
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
