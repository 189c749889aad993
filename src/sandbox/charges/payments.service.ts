import { Logger } from '@nestjs/common';
import type { EventLog, EventRequest, NewEvent } from '../sandbox.events';
import type { SandboxScheduler } from '../sandbox.scheduler';
import type {
  ChargeRecord,
  CustomerRecord,
  PaymentIntentRecord,
  PaymentMethodRecord,
  SandboxStore,
  ShippingRecord,
} from '../sandbox.store';
import { invalidState, StripeApiError } from '../stripe/stripe-error';
import { newId } from '../stripe/stripe-ids';
import { chargeJson, customerJson, paymentIntentJson, paymentMethodJson } from '../stripe/stripe-objects';
import {
  FAILING_BANK_ACCOUNTS,
  FAILING_IBANS,
  type PaymentFailure,
  testCard,
} from '../stripe/test-payment-methods';
import type { DisputesService } from './disputes.service';

/** A PaymentIntent as `POST /v1/payment_intents` asked for it, parameters already checked. */
export interface NewPaymentIntent {
  amount: number;
  currency: string;
  description: string | null;
  metadata: Record<string, string>;
  paymentMethodTypes: string[];
  allowedPaymentMethodTypes: string[] | null;
  captureMethod: 'automatic' | 'automatic_async' | 'manual';
  customerId: string | null;
  paymentMethodId: string | null;
  shipping: ShippingRecord | null;
  receiptEmail: string | null;
  setupFutureUsage: 'on_session' | 'off_session' | null;
  confirm: boolean;
}

const SETTLE_JOB = 'payment_intent.settle';

const CONFIRMABLE: PaymentIntentRecord['status'][] = ['requires_payment_method', 'requires_confirmation'];
const CANCELABLE: PaymentIntentRecord['status'][] = [
  'requires_payment_method',
  'requires_confirmation',
  'requires_capture',
];

/** A card declined by the API: Stripe's 402 with the PaymentIntent and the charge in the error. */
function cardError(
  failure: PaymentFailure,
  intent: PaymentIntentRecord,
  charge: ChargeRecord,
): StripeApiError {
  return new StripeApiError(402, {
    type: 'card_error',
    code: failure.code,
    ...(failure.declineCode ? { decline_code: failure.declineCode } : {}),
    ...(failure.adviceCode ? { advice_code: failure.adviceCode } : {}),
    doc_url: `https://stripe.com/docs/error-codes/${failure.code.replace(/_/g, '-')}`,
    message: failure.message,
    ...(failure.param ? { param: failure.param } : {}),
    charge: charge.id,
    payment_intent: paymentIntentJson(intent),
    payment_method: paymentMethodJson(charge.paymentMethod),
  });
}

/**
 * The PaymentIntents API (create, confirm, capture, cancel) with payment methods and customers: what
 * the Stripe CLI's fixtures and a server-side integration use. Cards pay at once (Stripe's test
 * PaymentMethods say how: `pm_card_visa` succeeds, `pm_card_chargeDeclined` is declined, …); bank
 * debits (SEPA, ACH) are processing until they settle after the settlement delay.
 */
export class PaymentsService {
  private readonly logger = new Logger('StripeSandbox');

  constructor(
    private readonly store: SandboxStore,
    private readonly scheduler: SandboxScheduler,
    private readonly events: EventLog,
    private readonly disputes: DisputesService,
    private readonly settings: { settlementSeconds: number },
  ) {
    // A durable job: a debit in flight settles even across a restart of the sandbox.
    scheduler.define<{ paymentIntentId: string }>(SETTLE_JOB, ({ paymentIntentId }) =>
      this.settleDebit(paymentIntentId),
    );
  }

  // ---------------------------------------------------------------------------------------------
  // Customers and payment methods

  createCustomer(input: Omit<CustomerRecord, 'id' | 'created'>, request: EventRequest): CustomerRecord {
    const customer: CustomerRecord = { id: newId.customer(), created: this.scheduler.unixNow(), ...input };
    this.store.customers.set(customer.id, customer);
    this.events.emit([{ type: 'customer.created', object: customerJson(customer), request }]);
    return customer;
  }

  /** A new customer's event, for an action that emits it with others (Checkout saving a card). */
  newCustomer(input: Omit<CustomerRecord, 'id' | 'created'>): { customer: CustomerRecord; event: NewEvent } {
    const customer: CustomerRecord = { id: newId.customer(), created: this.scheduler.unixNow(), ...input };
    this.store.customers.set(customer.id, customer);
    return { customer, event: { type: 'customer.created', object: customerJson(customer) } };
  }

  savePaymentMethod(method: PaymentMethodRecord): PaymentMethodRecord {
    this.store.paymentMethods.set(method.id, method);
    return method;
  }

  /** Attaches a payment method to a customer: `payment_method.attached`. */
  attach(method: PaymentMethodRecord, customerId: string): NewEvent {
    method.customerId = customerId;
    this.store.paymentMethods.touch(method);
    return { type: 'payment_method.attached', object: paymentMethodJson(method) };
  }

  // ---------------------------------------------------------------------------------------------
  // PaymentIntents

  /** The Checkout Session a PaymentIntent belongs to, if Checkout made it. */
  private checkoutSessionOf(intent: PaymentIntentRecord) {
    return [...this.store.sessions.values()].find((s) => s.paymentIntentId === intent.id);
  }

  private assertNotCheckout(intent: PaymentIntentRecord, action: string): void {
    const session = this.checkoutSessionOf(intent);
    if (session) {
      throw invalidState(
        `You cannot ${action} this PaymentIntent because it is managed by the Checkout Session ${session.id}.`,
      );
    }
  }

  create(input: NewPaymentIntent, request: EventRequest): PaymentIntentRecord {
    const id = newId.paymentIntent();
    const intent: PaymentIntentRecord = {
      id,
      created: this.scheduler.unixNow(),
      amount: input.amount,
      currency: input.currency,
      metadata: input.metadata,
      description: input.description,
      paymentMethodTypes: input.paymentMethodTypes,
      allowedPaymentMethodTypes: input.allowedPaymentMethodTypes,
      clientSecret: newId.clientSecret(id),
      status: input.paymentMethodId ? 'requires_confirmation' : 'requires_payment_method',
      amountReceived: 0,
      latestChargeId: null,
      paymentMethodId: input.paymentMethodId,
      lastPaymentError: null,
      canceledAt: null,
      cancellationReason: null,
      captureMethod: input.captureMethod,
      amountCapturable: 0,
      customerId: input.customerId,
      shipping: input.shipping,
      receiptEmail: input.receiptEmail,
      setupFutureUsage: input.setupFutureUsage,
    };
    this.store.paymentIntents.set(id, intent);
    const events: NewEvent[] = [
      { type: 'payment_intent.created', object: paymentIntentJson(intent), request },
    ];
    this.logger.log(`PaymentIntent ${id} created: ${intent.amount} ${intent.currency}`);
    if (!input.confirm) {
      this.events.emit(events);
      return intent;
    }
    return this.confirmInto(intent, input.paymentMethodId, request, events);
  }

  /** `POST /v1/payment_intents/:id/confirm` */
  confirm(
    intent: PaymentIntentRecord,
    paymentMethodId: string | null,
    request: EventRequest,
  ): PaymentIntentRecord {
    this.assertNotCheckout(intent, 'confirm');
    return this.confirmInto(intent, paymentMethodId, request, []);
  }

  private confirmInto(
    intent: PaymentIntentRecord,
    paymentMethodId: string | null,
    request: EventRequest,
    events: NewEvent[],
  ): PaymentIntentRecord {
    // Refused before any charge: nothing happened (a PaymentIntent being created is not kept).
    const fail = (error: StripeApiError): never => {
      throw new StripeApiError(error.statusCode, error.body, true);
    };
    // Declined by the card's bank: the PaymentIntent, the failed charge and their events stay.
    const decline = (error: StripeApiError): never => {
      this.events.emit(events);
      throw error;
    };
    if (!CONFIRMABLE.includes(intent.status)) {
      fail(
        new StripeApiError(400, {
          type: 'invalid_request_error',
          code: 'payment_intent_unexpected_state',
          message:
            `You cannot confirm this PaymentIntent because it has a status of ${intent.status}. Only a PaymentIntent ` +
            'with one of the following statuses may be confirmed: requires_confirmation, requires_action, requires_payment_method.',
        }),
      );
    }
    const methodId = paymentMethodId ?? intent.paymentMethodId;
    const method = methodId ? this.store.paymentMethods.get(methodId) : undefined;
    if (!method) {
      fail(
        new StripeApiError(400, {
          type: 'invalid_request_error',
          code: 'payment_intent_unexpected_state',
          message:
            "You cannot confirm this PaymentIntent because it's missing a payment method. You can either update the " +
            'PaymentIntent with a payment method and then confirm it again, or confirm it again directly with a payment method.',
        }),
      );
    }
    const pm = method!;
    if (!intent.paymentMethodTypes.includes(pm.type)) {
      fail(
        invalidState(
          `The PaymentMethod provided (${pm.type}) is not allowed for this PaymentIntent. Please attach a PaymentMethod ` +
            `of one of the following types: ${intent.paymentMethodTypes.join(', ')}.`,
        ),
      );
    }
    if (intent.customerId && pm.customerId && pm.customerId !== intent.customerId) {
      fail(
        invalidState(
          `The provided PaymentMethod ${pm.id} belongs to another Customer. Use a PaymentMethod of ${intent.customerId}.`,
        ),
      );
    }
    intent.paymentMethodId = pm.id;

    if (pm.type !== 'card') {
      this.startDebit(intent, pm, request, events);
      this.events.emit(events);
      return intent;
    }
    const card = testCard(pm.testNumber ?? '');
    if (card.decline) {
      const charge = this.newCharge(intent, pm, 'failed', card.decline);
      this.markFailed(intent, charge, card.decline);
      events.push(
        { type: 'charge.failed', object: chargeJson(charge), request },
        { type: 'payment_intent.payment_failed', object: paymentIntentJson(intent), request },
      );
      this.logger.log(
        `PaymentIntent ${intent.id}: card declined (${card.decline.declineCode ?? card.decline.code})`,
      );
      decline(cardError(card.decline, intent, charge));
    }
    const charge = this.newCharge(intent, pm, 'succeeded', null);
    if (intent.captureMethod === 'manual') {
      charge.captured = false;
      intent.status = 'requires_capture';
      intent.amountCapturable = intent.amount;
      intent.lastPaymentError = null;
      events.push(
        { type: 'charge.succeeded', object: chargeJson(charge), request },
        { type: 'payment_intent.amount_capturable_updated', object: paymentIntentJson(intent), request },
      );
      this.logger.log(`PaymentIntent ${intent.id}: authorized, awaiting capture`);
    } else {
      this.markSucceeded(intent, charge);
      events.push(
        { type: 'charge.succeeded', object: chargeJson(charge), request },
        { type: 'payment_intent.succeeded', object: paymentIntentJson(intent), request },
      );
      if (card.dispute) events.push(...this.disputes.open(charge, card.dispute));
      this.logger.log(`PaymentIntent ${intent.id}: succeeded`);
    }
    this.events.emit(events);
    return intent;
  }

  /** `POST /v1/payment_intents/:id/capture` (`amount_to_capture` ≤ the authorized amount; the rest is released). */
  capture(
    intent: PaymentIntentRecord,
    amountToCapture: number | undefined,
    request: EventRequest,
  ): PaymentIntentRecord {
    this.assertNotCheckout(intent, 'capture');
    if (intent.status !== 'requires_capture') {
      throw new StripeApiError(400, {
        type: 'invalid_request_error',
        code: 'payment_intent_unexpected_state',
        message:
          `This PaymentIntent could not be captured because it has a status of ${intent.status}. ` +
          'Only a PaymentIntent with one of the following statuses may be captured: requires_capture.',
      });
    }
    const amount = amountToCapture ?? intent.amount;
    if (amount > intent.amount) {
      throw new StripeApiError(400, {
        type: 'invalid_request_error',
        code: 'amount_too_large',
        message: `The amount to capture (${amount}) is greater than the amount capturable (${intent.amount}).`,
        param: 'amount_to_capture',
      });
    }
    const charge = this.store.charges.get(intent.latestChargeId!)!;
    charge.captured = true;
    charge.amountRefunded = intent.amount - amount;
    intent.status = 'succeeded';
    intent.amountReceived = amount;
    intent.amountCapturable = 0;
    const events: NewEvent[] = [
      { type: 'charge.captured', object: chargeJson(charge), request },
      { type: 'payment_intent.succeeded', object: paymentIntentJson(intent), request },
    ];
    const card = testCard(charge.paymentMethod.testNumber ?? '');
    if (card.dispute) events.push(...this.disputes.open(charge, card.dispute));
    this.events.emit(events);
    this.logger.log(`PaymentIntent ${intent.id}: captured ${amount}`);
    return intent;
  }

  /** `POST /v1/payment_intents/:id/cancel`: an authorization is released (`charge.refunded`). */
  cancel(
    intent: PaymentIntentRecord,
    reason: PaymentIntentRecord['cancellationReason'],
    request: EventRequest,
  ): PaymentIntentRecord {
    this.assertNotCheckout(intent, 'cancel');
    if (!CANCELABLE.includes(intent.status)) {
      throw new StripeApiError(400, {
        type: 'invalid_request_error',
        code: 'payment_intent_unexpected_state',
        message:
          `You cannot cancel this PaymentIntent because it has a status of ${intent.status}. Only a PaymentIntent with ` +
          'one of the following statuses may be canceled: requires_payment_method, requires_capture, requires_confirmation, requires_action, processing.',
      });
    }
    const events: NewEvent[] = [];
    if (intent.status === 'requires_capture') {
      const charge = this.store.charges.get(intent.latestChargeId!)!;
      charge.amountRefunded = charge.amount;
      events.push({ type: 'charge.refunded', object: chargeJson(charge), request });
    }
    intent.status = 'canceled';
    intent.amountCapturable = 0;
    intent.canceledAt = this.scheduler.unixNow();
    intent.cancellationReason = reason;
    events.push({ type: 'payment_intent.canceled', object: paymentIntentJson(intent), request });
    this.events.emit(events);
    this.logger.log(`PaymentIntent ${intent.id}: canceled`);
    return intent;
  }

  /** A bank debit (SEPA, ACH): processing now, settled or failed after the settlement delay. */
  private startDebit(
    intent: PaymentIntentRecord,
    method: PaymentMethodRecord,
    request: EventRequest,
    events: NewEvent[],
  ): void {
    const charge = this.newCharge(intent, method, 'pending', null);
    intent.status = 'processing';
    intent.lastPaymentError = null;
    events.push(
      { type: 'payment_intent.processing', object: paymentIntentJson(intent), request },
      { type: 'charge.pending', object: chargeJson(charge), request },
    );
    this.scheduler.scheduleDurable(this.settings.settlementSeconds * 1000, SETTLE_JOB, {
      paymentIntentId: intent.id,
    });
  }

  /** The bank's answer to a debit submitted `settlementSeconds` ago. */
  private settleDebit(paymentIntentId: string): void {
    const intent = this.store.paymentIntents.get(paymentIntentId);
    const charge = intent?.latestChargeId ? this.store.charges.get(intent.latestChargeId) : undefined;
    if (!intent || !charge || intent.status !== 'processing' || charge.status !== 'pending') {
      this.logger.warn(`PaymentIntent ${paymentIntentId}: nothing to settle`);
      return;
    }
    const failure = bankFailureOf(charge.paymentMethod);
    if (failure) {
      charge.status = 'failed';
      charge.failure = failure;
      this.markFailed(intent, charge, failure);
      this.events.emit([
        { type: 'charge.failed', object: chargeJson(charge) },
        { type: 'payment_intent.payment_failed', object: paymentIntentJson(intent) },
      ]);
      return;
    }
    charge.status = 'succeeded';
    this.markSucceeded(intent, charge);
    this.events.emit([
      { type: 'charge.succeeded', object: chargeJson(charge) },
      { type: 'payment_intent.succeeded', object: paymentIntentJson(intent) },
    ]);
  }

  /** A new charge of the intent (the API's confirm and the hosted checkout page both make them). */
  newCharge(
    intent: PaymentIntentRecord,
    method: PaymentMethodRecord,
    status: ChargeRecord['status'],
    failure: PaymentFailure | null | undefined,
  ): ChargeRecord {
    const charge: ChargeRecord = {
      id: newId.charge(),
      created: this.scheduler.unixNow(),
      amount: intent.amount,
      currency: intent.currency,
      paymentIntentId: intent.id,
      paymentMethod: method,
      metadata: { ...intent.metadata },
      status,
      failure: failure ?? null,
      balanceTransactionId: status === 'succeeded' ? newId.balanceTransaction() : null,
      captured: status === 'succeeded',
      amountRefunded: 0,
      disputeId: null,
      customerId: intent.customerId ?? null,
      description: intent.description,
      shipping: intent.shipping ?? null,
      receiptEmail: intent.receiptEmail ?? null,
    };
    this.store.charges.set(charge.id, charge);
    intent.latestChargeId = charge.id;
    return charge;
  }

  private markSucceeded(intent: PaymentIntentRecord, charge: ChargeRecord): void {
    charge.balanceTransactionId ??= newId.balanceTransaction();
    charge.captured = true;
    intent.status = 'succeeded';
    intent.amountReceived = intent.amount;
    intent.lastPaymentError = null;
  }

  private markFailed(intent: PaymentIntentRecord, charge: ChargeRecord, failure: PaymentFailure): void {
    intent.status = 'requires_payment_method';
    intent.paymentMethodId = null;
    intent.lastPaymentError = { failure, chargeId: charge.id, paymentMethod: charge.paymentMethod };
  }
}

/** How a bank debit ends: the failure its test account or IBAN stands for, or none (it settles). */
export function bankFailureOf(method: PaymentMethodRecord): PaymentFailure | undefined {
  if (method.sepaDebit) return FAILING_IBANS[method.sepaDebit.iban];
  if (method.bankAccount) return FAILING_BANK_ACCOUNTS[method.bankAccount.accountNumber ?? ''];
  return undefined;
}
