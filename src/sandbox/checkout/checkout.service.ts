import { Logger } from '@nestjs/common';
import { type EventLog, type EventRequest, type NewEvent } from '../sandbox.events';
import type { SandboxScheduler } from '../sandbox.scheduler';
import type {
  ChargeRecord,
  CheckoutSessionRecord,
  CustomerDetails,
  PaymentIntentRecord,
  PaymentMethodRecord,
  PriceRecord,
  SandboxStore,
} from '../sandbox.store';
import { bankFailureOf, type PaymentsService } from '../charges/payments.service';
import type { DisputesService } from '../charges/disputes.service';
import { invalidState, StripeApiError } from '../stripe/stripe-error';
import { newId } from '../stripe/stripe-ids';
import { chargeJson, checkoutSessionJson, paymentIntentJson } from '../stripe/stripe-objects';
import {
  type CardInput,
  FAILING_BANK_ACCOUNTS,
  type PaymentFailure,
  TEST_BANK_NAME,
  TEST_ROUTING_NUMBER,
  testCard,
} from '../stripe/test-payment-methods';

/** A Checkout Session as the API asked for it, parameters already checked. */
export type NewCheckoutSession = Pick<
  CheckoutSessionRecord,
  | 'currency'
  | 'successUrl'
  | 'cancelUrl'
  | 'clientReferenceId'
  | 'customerEmail'
  | 'metadata'
  | 'paymentIntentMetadata'
  | 'paymentIntentDescription'
  | 'expiresAt'
  | 'paymentMethodTypes'
  | 'settings'
  | 'paymentIntentShipping'
  | 'paymentIntentSetupFutureUsage'
> & {
  lineItems: {
    description: string;
    quantity: number;
    price: PriceRecord;
    metadata: Record<string, string>;
  }[];
};

const EXPIRE_JOB = 'checkout.session.expire';
const SETTLE_JOB = 'checkout.session.settle';

export type PaymentOutcome =
  /** Paid, or (bank) submitted: the customer goes to `success_url`. */
  | { kind: 'completed'; redirectTo: string }
  /** The bank said no; the session stays open for another try. */
  | { kind: 'declined'; failure: PaymentFailure };

export interface CheckoutSettings {
  /** Base URL of the hosted pages (known once the server listens). */
  baseUrl: () => string;
  settlementSeconds: number;
  /** The account's business name, shown on the checkout page and in receipts. */
  shopName: string;
}

/**
 * Checkout Sessions and what happens to them: payment by card or bank account on the hosted page,
 * settlement of bank payments, expiry. Every change emits the events Stripe emits for it.
 */
export class CheckoutService {
  private readonly logger = new Logger('StripeSandbox');

  constructor(
    private readonly store: SandboxStore,
    private readonly scheduler: SandboxScheduler,
    private readonly events: EventLog,
    private readonly settings: CheckoutSettings,
    private readonly payments: PaymentsService,
    private readonly disputes: DisputesService,
  ) {
    // Durable jobs: they survive a restart of the sandbox (see SandboxScheduler.scheduleDurable).
    scheduler.define<{ sessionId: string }>(EXPIRE_JOB, ({ sessionId }) => {
      const session = this.store.sessions.get(sessionId);
      if (session?.status === 'open') this.expireNow(session);
    });
    scheduler.define<{ sessionId: string; accountNumber?: string }>(SETTLE_JOB, (args) =>
      this.settle(args.sessionId, args.accountNumber),
    );
  }

  create(input: NewCheckoutSession): CheckoutSessionRecord {
    const id = newId.checkoutSession();
    const lineItems = input.lineItems.map((item) => ({
      id: newId.lineItem(),
      description: item.description,
      quantity: item.quantity,
      price: item.price,
      amount: item.price.unitAmount * item.quantity,
      metadata: item.metadata,
    }));
    const session: CheckoutSessionRecord = {
      id,
      created: this.scheduler.unixNow(),
      expiresAt: input.expiresAt,
      currency: input.currency,
      lineItems,
      amountTotal: lineItems.reduce((sum, item) => sum + item.amount, 0),
      successUrl: input.successUrl,
      cancelUrl: input.cancelUrl,
      clientReferenceId: input.clientReferenceId,
      customerEmail: input.customerEmail,
      metadata: input.metadata,
      paymentIntentMetadata: input.paymentIntentMetadata,
      paymentIntentDescription: input.paymentIntentDescription,
      displayName: this.settings.shopName,
      paymentMethodTypes: input.paymentMethodTypes,
      settings: input.settings,
      paymentIntentShipping: input.paymentIntentShipping ?? null,
      paymentIntentSetupFutureUsage: input.paymentIntentSetupFutureUsage ?? null,
      customerId: null,
      status: 'open',
      paymentStatus: 'unpaid',
      paymentIntentId: null,
      customerDetails: null,
      url: `${this.settings.baseUrl()}/c/pay/${id}`,
    };
    this.store.sessions.set(id, session);
    this.scheduler.scheduleDurable(session.expiresAt * 1000 - this.scheduler.now(), EXPIRE_JOB, {
      sessionId: id,
    });
    this.logger.log(
      `Checkout Session ${id} created: ${session.amountTotal} ${session.currency}, expires at ${session.expiresAt}`,
    );
    return session;
  }

  get(id: string): CheckoutSessionRecord | undefined {
    return this.store.sessions.get(id);
  }

  /** Newest first, as Stripe lists. */
  list(filter: { paymentIntent?: string; status?: string }): CheckoutSessionRecord[] {
    return [...this.store.sessions.values()]
      .filter((s) => filter.paymentIntent === undefined || s.paymentIntentId === filter.paymentIntent)
      .filter((s) => filter.status === undefined || s.status === filter.status)
      .reverse();
  }

  /** `POST /v1/checkout/sessions/:id/expire`: only an open session can be expired. */
  expire(session: CheckoutSessionRecord, request: EventRequest): CheckoutSessionRecord {
    if (session.status !== 'open') {
      throw invalidState(
        `Only Checkout Sessions with a status in ["open"] can be expired. ` +
          `This Checkout Session has a status of \`${session.status}\`.`,
      );
    }
    this.expireNow(session, request);
    return session;
  }

  successUrl(session: CheckoutSessionRecord): string {
    return session.successUrl.replaceAll('{CHECKOUT_SESSION_ID}', session.id);
  }

  payByCard(session: CheckoutSessionRecord, card: CardInput, customer: CustomerDetails): PaymentOutcome {
    this.assertOpen(session);
    const outcome = testCard(card.number);
    const method: PaymentMethodRecord = {
      id: newId.paymentMethod(),
      created: this.scheduler.unixNow(),
      type: 'card',
      billing: customer,
      testNumber: card.number,
      card: {
        brand: outcome.brand,
        last4: card.number.slice(-4),
        expMonth: card.expMonth,
        expYear: card.expYear,
        funding: outcome.funding,
        fingerprint: newId.fingerprint(),
      },
    };
    this.payments.savePaymentMethod(method);
    return this.payCardMethod(session, method, customer);
  }

  /**
   * The Stripe CLI's confirmation step (`POST /v1/payment_pages/:id/confirm`): pays the session with
   * a PaymentMethod made through the API (a test card, or a SEPA or ACH debit).
   */
  payWithPaymentMethod(
    session: CheckoutSessionRecord,
    method: PaymentMethodRecord,
    expectedAmount: number | undefined,
  ): PaymentOutcome {
    this.assertOpen(session);
    if (expectedAmount !== undefined && expectedAmount !== session.amountTotal) {
      throw new StripeApiError(400, {
        type: 'invalid_request_error',
        message: `The expected amount (${expectedAmount}) does not match the amount due on this Checkout Session (${session.amountTotal}).`,
        param: 'expected_amount',
      });
    }
    if (!(session.paymentMethodTypes as string[]).includes(method.type)) {
      throw new StripeApiError(400, {
        type: 'invalid_request_error',
        message: `This Checkout Session does not accept payment methods of type \`${method.type}\` (it accepts ${session.paymentMethodTypes.join(', ')}).`,
        param: 'payment_method',
      });
    }
    const customer: CustomerDetails = {
      email: session.customerEmail ?? method.billing.email,
      name: method.billing.name,
    };
    if (method.type === 'card') return this.payCardMethod(session, method, customer);
    return this.payBankMethod(session, method, customer);
  }

  /** With `setup_future_usage`, Checkout saves the payment method on a new Customer. */
  private saveForLater(
    session: CheckoutSessionRecord,
    method: PaymentMethodRecord,
    events: NewEvent[],
  ): void {
    if (!session.paymentIntentSetupFutureUsage) return;
    if (!session.customerId) {
      const { customer, event } = this.payments.newCustomer({
        email: session.customerEmail ?? method.billing.email,
        name: method.billing.name,
        description: null,
        phone: method.billingPhone ?? null,
        metadata: {},
      });
      session.customerId = customer.id;
      events.push(event);
    }
    const intent = session.paymentIntentId
      ? this.store.paymentIntents.get(session.paymentIntentId)
      : undefined;
    if (intent) intent.customerId = session.customerId;
    events.push(this.payments.attach(method, session.customerId));
  }

  private payCardMethod(
    session: CheckoutSessionRecord,
    method: PaymentMethodRecord,
    customer: CustomerDetails,
  ): PaymentOutcome {
    if (!session.paymentMethodTypes.includes('card')) {
      throw invalidState('This payment method is not available for this Checkout Session.');
    }
    const events: NewEvent[] = [];
    const request = { id: newId.request(), idempotency_key: newId.uuid() };
    const intent = this.paymentIntentFor(session, events, request);
    const outcome = testCard(method.testNumber ?? '');
    const charge = this.payments.newCharge(
      intent,
      method,
      outcome.decline ? 'failed' : 'succeeded',
      outcome.decline,
    );

    if (outcome.decline) {
      this.fail(intent, charge, outcome.decline);
      events.push(
        { type: 'charge.failed', object: chargeJson(charge), request },
        { type: 'payment_intent.payment_failed', object: paymentIntentJson(intent), request },
      );
      this.events.emit(events);
      this.logger.log(
        `Checkout Session ${session.id}: card declined (${outcome.decline.declineCode ?? outcome.decline.code})`,
      );
      return { kind: 'declined', failure: outcome.decline };
    }

    this.saveForLater(session, method, events);
    this.succeed(intent, charge);
    intent.paymentMethodId = method.id;
    session.status = 'complete';
    session.paymentStatus = 'paid';
    session.customerDetails = customer;
    events.push(
      { type: 'charge.succeeded', object: chargeJson(charge), request },
      { type: 'payment_intent.succeeded', object: paymentIntentJson(intent), request },
      { type: 'checkout.session.completed', object: checkoutSessionJson(session) },
    );
    if (outcome.dispute) events.push(...this.disputes.open(charge, outcome.dispute));
    this.events.emit(events);
    this.logger.log(`Checkout Session ${session.id}: paid by card`);
    return { kind: 'completed', redirectTo: this.successUrl(session) };
  }

  /** A US bank account debit: the session completes unpaid now and settles (or fails) later. */
  payByBank(
    session: CheckoutSessionRecord,
    accountNumber: string,
    customer: CustomerDetails,
  ): PaymentOutcome {
    this.assertOpen(session);
    const method: PaymentMethodRecord = {
      id: newId.paymentMethod(),
      created: this.scheduler.unixNow(),
      type: 'us_bank_account',
      billing: customer,
      bankAccount: {
        last4: accountNumber.slice(-4),
        routingNumber: TEST_ROUTING_NUMBER,
        bankName: TEST_BANK_NAME,
        fingerprint: newId.fingerprint(),
        accountNumber,
      },
    };
    return this.payBankMethod(session, method, customer);
  }

  /** A bank debit (ACH or SEPA): the session completes unpaid now and settles (or fails) later. */
  private payBankMethod(
    session: CheckoutSessionRecord,
    method: PaymentMethodRecord,
    customer: CustomerDetails,
  ): PaymentOutcome {
    if (!(session.paymentMethodTypes as string[]).includes(method.type)) {
      throw invalidState('This payment method is not available for this Checkout Session.');
    }
    this.payments.savePaymentMethod(method);
    const events: NewEvent[] = [];
    const request = { id: newId.request(), idempotency_key: newId.uuid() };
    const intent = this.paymentIntentFor(session, events, request);
    this.saveForLater(session, method, events);
    const charge = this.payments.newCharge(intent, method, 'pending', null);
    intent.status = 'processing';
    intent.paymentMethodId = method.id;
    intent.lastPaymentError = null;
    session.status = 'complete';
    session.customerDetails = customer;
    events.push(
      { type: 'payment_intent.processing', object: paymentIntentJson(intent), request },
      { type: 'charge.pending', object: chargeJson(charge), request },
      { type: 'checkout.session.completed', object: checkoutSessionJson(session) },
    );
    this.events.emit(events);
    this.logger.log(
      `Checkout Session ${session.id}: bank debit submitted, settles in ${this.settings.settlementSeconds} s`,
    );
    this.scheduler.scheduleDurable(this.settings.settlementSeconds * 1000, SETTLE_JOB, {
      sessionId: session.id,
    });
    return { kind: 'completed', redirectTo: this.successUrl(session) };
  }

  /**
   * The bank's answer to a debit submitted `settlementSeconds` ago: the payment method's test
   * account or IBAN says which (`accountNumber`: how timers stored before methods kept it said it).
   */
  private settle(sessionId: string, accountNumber?: string): void {
    const session = this.store.sessions.get(sessionId);
    const intent = session?.paymentIntentId
      ? this.store.paymentIntents.get(session.paymentIntentId)
      : undefined;
    const charge = intent?.latestChargeId ? this.store.charges.get(intent.latestChargeId) : undefined;
    if (!session || !intent || !charge || intent.status !== 'processing' || charge.status !== 'pending') {
      this.logger.warn(`Checkout Session ${sessionId}: nothing to settle`);
      return;
    }
    const failure =
      bankFailureOf(charge.paymentMethod) ??
      (accountNumber === undefined ? undefined : FAILING_BANK_ACCOUNTS[accountNumber]);
    if (failure) {
      charge.status = 'failed';
      charge.failure = failure;
      this.fail(intent, charge, failure);
      this.events.emit([
        { type: 'charge.failed', object: chargeJson(charge) },
        { type: 'payment_intent.payment_failed', object: paymentIntentJson(intent) },
        { type: 'checkout.session.async_payment_failed', object: checkoutSessionJson(session) },
      ]);
      this.logger.log(`Checkout Session ${session.id}: bank debit failed (${failure.code})`);
      return;
    }
    charge.status = 'succeeded';
    this.succeed(intent, charge);
    session.paymentStatus = 'paid';
    this.events.emit([
      { type: 'charge.succeeded', object: chargeJson(charge) },
      { type: 'payment_intent.succeeded', object: paymentIntentJson(intent) },
      { type: 'checkout.session.async_payment_succeeded', object: checkoutSessionJson(session) },
    ]);
    this.logger.log(`Checkout Session ${session.id}: bank debit settled`);
  }

  private expireNow(session: CheckoutSessionRecord, request: EventRequest | null = null): void {
    const events: NewEvent[] = [];
    const intent = session.paymentIntentId
      ? this.store.paymentIntents.get(session.paymentIntentId)
      : undefined;
    if (intent && intent.status === 'requires_payment_method') {
      intent.status = 'canceled';
      intent.canceledAt = this.scheduler.unixNow();
      intent.cancellationReason = 'abandoned';
      events.push({ type: 'payment_intent.canceled', object: paymentIntentJson(intent) });
    }
    session.status = 'expired';
    events.push({
      type: 'checkout.session.expired',
      object: checkoutSessionJson(session),
      ...(request ? { request } : {}),
    });
    this.logger.log(`Checkout Session ${session.id} expired${request ? ' (API)' : ''}`);
    this.events.emit(events);
  }

  private assertOpen(session: CheckoutSessionRecord): void {
    if (session.status !== 'open') {
      throw invalidState(`This Checkout Session is no longer active (status \`${session.status}\`).`);
    }
  }

  /** Checkout creates the PaymentIntent on the first attempt to pay, and reuses it after a decline. */
  private paymentIntentFor(
    session: CheckoutSessionRecord,
    events: NewEvent[],
    request: EventRequest,
  ): PaymentIntentRecord {
    const existing = session.paymentIntentId && this.store.paymentIntents.get(session.paymentIntentId);
    if (existing) return existing;
    const id = newId.paymentIntent();
    const intent: PaymentIntentRecord = {
      id,
      created: this.scheduler.unixNow(),
      amount: session.amountTotal,
      currency: session.currency,
      metadata: { ...session.paymentIntentMetadata },
      description: session.paymentIntentDescription,
      shipping: session.paymentIntentShipping ?? null,
      setupFutureUsage: session.paymentIntentSetupFutureUsage ?? null,
      customerId: session.customerId ?? null,
      paymentMethodTypes: [...session.paymentMethodTypes],
      receiptEmail: session.settings?.receiptEmail ?? null,
      clientSecret: newId.clientSecret(id),
      status: 'requires_payment_method',
      amountReceived: 0,
      latestChargeId: null,
      paymentMethodId: null,
      lastPaymentError: null,
      canceledAt: null,
      cancellationReason: null,
    };
    this.store.paymentIntents.set(id, intent);
    session.paymentIntentId = id;
    events.push({ type: 'payment_intent.created', object: paymentIntentJson(intent), request });
    return intent;
  }

  private succeed(intent: PaymentIntentRecord, charge: ChargeRecord): void {
    charge.balanceTransactionId ??= newId.balanceTransaction();
    intent.status = 'succeeded';
    intent.amountReceived = intent.amount;
    intent.lastPaymentError = null;
  }

  private fail(intent: PaymentIntentRecord, charge: ChargeRecord, failure: PaymentFailure): void {
    intent.status = 'requires_payment_method';
    intent.paymentMethodId = null;
    intent.lastPaymentError = { failure, chargeId: charge.id, paymentMethod: charge.paymentMethod };
  }
}
