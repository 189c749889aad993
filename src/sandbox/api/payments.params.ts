import type { NewPaymentIntent } from '../charges/payments.service';
import type {
  AddressRecord,
  CustomerRecord,
  PaymentMethodRecord,
  SandboxStore,
  ShippingRecord,
} from '../sandbox.store';
import { minimumAmount, formatAmount } from '../stripe/currencies';
import { paramError, resourceMissing, StripeApiError } from '../stripe/stripe-error';
import { newId } from '../stripe/stripe-ids';
import { cardBrand, cardNumberOfTestToken, normalizeIban, testCard } from '../stripe/test-payment-methods';
import { readCurrency } from './catalog.params';
import type { ParamReader } from './form-params';

/**
 * Refuses any parameter outside `supported`: one Stripe has but the sandbox does not model is named
 * as such, anything else is Stripe's "unknown parameter".
 */
export function allowParams(
  params: ParamReader,
  supported: readonly string[],
  unsupported: readonly string[],
): void {
  for (const key of unsupported) {
    if (params.has(key)) {
      throw paramError.invalid(
        params.name(key),
        `The Stripe sandbox does not support the parameter \`${params.name(key)}\`.`,
        'parameter_unknown',
      );
    }
  }
  params.allowOnly([...supported, ...unsupported]);
}

/** API version 2026-09-30.endive replaced `payment_method_types` with `allowed_payment_method_types`. */
const PAYMENT_METHOD_TYPES_REMOVED_IN = '2026-09-30';

/**
 * `payment_method_types` before 2026-09-30, `allowed_payment_method_types` from then on: the other
 * one is an unknown parameter at the request's API version, as Stripe answers it.
 */
function readAllowedTypes(params: ParamReader, apiVersion: string): { key: string; types: string[] } {
  const old = apiVersion.slice(0, 10) < PAYMENT_METHOD_TYPES_REMOVED_IN;
  const key = old ? 'payment_method_types' : 'allowed_payment_method_types';
  const other = old ? 'allowed_payment_method_types' : 'payment_method_types';
  if (params.has(other)) throw paramError.unknown(other);
  return { key, types: params.strings(key) };
}

/** The payment method types the sandbox can take in a currency, as Stripe offers them. */
export function paymentMethodTypesFor(currency: string): SandboxPaymentMethodType[] {
  if (currency === 'usd') return ['card', 'link', 'us_bank_account'];
  if (currency === 'eur') return ['card', 'link', 'sepa_debit'];
  return ['card', 'link'];
}

const SANDBOX_PAYMENT_METHOD_TYPES = ['card', 'link', 'us_bank_account', 'sepa_debit'] as const;
export type SandboxPaymentMethodType = (typeof SANDBOX_PAYMENT_METHOD_TYPES)[number];

function isSandboxType(type: string): type is SandboxPaymentMethodType {
  return (SANDBOX_PAYMENT_METHOD_TYPES as readonly string[]).includes(type);
}

/** Checks asked-for payment method types against the currency (the sandbox models these four). */
export function checkPaymentMethodTypes(
  types: string[],
  currency: string,
  param: string,
): SandboxPaymentMethodType[] {
  const offered = paymentMethodTypesFor(currency);
  const checked = types.map((type, index) => {
    if (!isSandboxType(type)) {
      throw paramError.invalid(
        `${param}[${index}]`,
        `The Stripe sandbox does not support the payment method type \`${type}\` (it has card, link, us_bank_account and sepa_debit).`,
      );
    }
    if (!offered.includes(type)) {
      throw paramError.invalid(
        `${param}[${index}]`,
        `The payment method type \`${type}\` is invalid. Please ensure the provided type is activated in your dashboard ` +
          `(https://dashboard.stripe.com/account/payments/settings) and your account is enabled for any preview features ` +
          `that you are trying to use. Currency \`${currency}\` is not supported by \`${type}\`.`,
      );
    }
    return type;
  });
  return [...new Set(checked)];
}

function readAddress(params: ParamReader | undefined): AddressRecord | null {
  if (!params) return null;
  params.allowOnly(['line1', 'line2', 'city', 'state', 'postal_code', 'country']);
  return {
    line1: params.string('line1', { maxLength: 5000 }) ?? null,
    line2: params.string('line2', { maxLength: 5000 }) ?? null,
    city: params.string('city', { maxLength: 5000 }) ?? null,
    state: params.string('state', { maxLength: 5000 }) ?? null,
    postalCode: params.string('postal_code', { maxLength: 5000 }) ?? null,
    country: params.string('country', { maxLength: 2 })?.toUpperCase() ?? null,
  };
}

/** `shipping` (`payment_intent_data[shipping]` in Checkout): name and address required. */
export function readShipping(params: ParamReader, key = 'shipping'): ShippingRecord | null {
  const shipping = params.hash(key);
  if (!shipping) return null;
  allowParams(shipping, ['name', 'phone', 'address'], ['carrier', 'tracking_number']);
  const name = shipping.string('name', { required: true, maxLength: 5000 })!;
  const addressParams = shipping.hash('address', { required: true })!;
  const address = readAddress(addressParams)!;
  if (!address.line1) throw paramError.missing(addressParams.name('line1'));
  return { name, phone: shipping.string('phone', { maxLength: 5000 }) ?? null, address };
}

function findCustomer(
  store: SandboxStore,
  params: ParamReader,
  key = 'customer',
): CustomerRecord | undefined {
  const id = params.string(key);
  if (id === undefined) return undefined;
  const customer = store.customers.get(id);
  if (!customer) throw resourceMissing('customer', id, params.name(key), 400);
  return customer;
}

// -----------------------------------------------------------------------------------------------
// Customers

const CUSTOMER_PARAMS = ['description', 'email', 'name', 'phone', 'metadata', 'expand'] as const;
const CUSTOMER_UNSUPPORTED = ['address', 'balance', 'cash_balance', 'coupon', 'invoice_prefix', 'invoice_settings',
  'next_invoice_sequence', 'payment_method', 'preferred_locales', 'promotion_code', 'shipping', 'source', 'tax',
  'tax_exempt', 'tax_id_data', 'test_clock', 'validate', 'business_name', 'individual_name'] as const; // prettier-ignore

/** `POST /v1/customers` */
export function readNewCustomer(params: ParamReader): Omit<CustomerRecord, 'id' | 'created'> {
  allowParams(params, CUSTOMER_PARAMS, CUSTOMER_UNSUPPORTED);
  const email = params.string('email', { maxLength: 512 }) ?? null;
  if (email !== null && !/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(email)) {
    throw paramError.invalid('email', `Invalid email address: ${email}`, 'email_invalid');
  }
  return {
    email,
    name: params.string('name', { maxLength: 256 }) ?? null,
    description: params.string('description', { maxLength: 350 }) ?? null,
    phone: params.string('phone', { maxLength: 20 }) ?? null,
    metadata: params.metadata('metadata'),
  };
}

// -----------------------------------------------------------------------------------------------
// Payment methods

const RAW_CARD_DATA =
  'Sending credit card numbers directly to the Stripe API is generally unsafe. To continue processing use Stripe.js, ' +
  'the Stripe mobile bindings, or Stripe Elements. The Stripe sandbox takes test tokens only: card[token]=tok_visa, ' +
  'or a test PaymentMethod such as pm_card_visa.';

/** A card PaymentMethod made from a test card number (`pm_card_visa`, `tok_visa`, …). */
export function testCardPaymentMethod(number: string, created: number): PaymentMethodRecord {
  const card = testCard(number);
  return {
    id: newId.paymentMethod(),
    created,
    type: 'card',
    billing: { email: null, name: null },
    billingAddress: null,
    billingPhone: null,
    customerId: null,
    metadata: {},
    testNumber: number,
    card: {
      brand: card.brand === 'unknown' ? cardBrand(number) : card.brand,
      last4: number.slice(-4),
      expMonth: 12,
      expYear: new Date(created * 1000).getUTCFullYear() + 1,
      funding: card.funding,
      fingerprint: newId.fingerprint(),
    },
  };
}

/** `POST /v1/payment_methods`: cards from test tokens, SEPA Direct Debit from an IBAN. */
export function readNewPaymentMethod(params: ParamReader, created: number): PaymentMethodRecord {
  allowParams(
    params,
    ['type', 'card', 'sepa_debit', 'billing_details', 'metadata', 'expand'],
    ['allow_redisplay', 'customer', 'payment_method', 'radar_options', 'us_bank_account', 'link', 'acss_debit',
      'au_becs_debit', 'bacs_debit', 'ideal', 'bancontact', 'sofort', 'eps', 'p24', 'giropay', 'klarna'], // prettier-ignore
  );
  const type = params.string('type', { required: true })!;
  if (type !== 'card' && type !== 'sepa_debit') {
    throw paramError.invalid(
      'type',
      `The Stripe sandbox creates PaymentMethods of type card and sepa_debit only, not \`${type}\`.`,
    );
  }
  const billing = params.hash('billing_details');
  billing?.allowOnly(['name', 'email', 'phone', 'address']);
  const email = billing?.string('email', { maxLength: 800 }) ?? null;
  const name = billing?.string('name', { maxLength: 5000 }) ?? null;
  const common = {
    id: newId.paymentMethod(),
    created,
    billing: { email, name },
    billingAddress: readAddress(billing?.hash('address')),
    billingPhone: billing?.string('phone', { maxLength: 5000 }) ?? null,
    customerId: null,
    metadata: params.metadata('metadata'),
  };

  if (type === 'card') {
    const card = params.hash('card', { required: true })!;
    if (card.has('number') || card.has('cvc') || card.has('exp_month') || card.has('exp_year')) {
      throw new StripeApiError(
        402,
        { type: 'card_error', code: 'card_declined', message: RAW_CARD_DATA },
        true,
      );
    }
    card.allowOnly(['token']);
    const token = card.string('token', { required: true })!;
    const number = cardNumberOfTestToken(token);
    if (!number) throw resourceMissing('token', token, card.name('token'), 400);
    return { ...testCardPaymentMethod(number, created), ...common, testNumber: number };
  }

  const sepa = params.hash('sepa_debit', { required: true })!;
  sepa.allowOnly(['iban']);
  const raw = sepa.string('iban', { required: true })!;
  const iban = normalizeIban(raw);
  if (!iban) {
    throw paramError.invalid(
      sepa.name('iban'),
      `The IBAN you provided (${raw}) is invalid.`,
      'invalid_bank_account_iban',
    );
  }
  if (!name) throw paramError.missing('billing_details[name]');
  if (!email) throw paramError.missing('billing_details[email]');
  return {
    ...common,
    type: 'sepa_debit',
    sepaDebit: {
      iban,
      last4: iban.slice(-4),
      country: iban.slice(0, 2),
      bankCode: iban.slice(4, 9),
      branchCode: '',
      fingerprint: newId.fingerprint(),
    },
  };
}

/**
 * `payment_method`: a PaymentMethod of the account, or one of Stripe's test PaymentMethods
 * (`pm_card_visa`), which makes a new one each time, as Stripe does.
 */
export function readPaymentMethod(
  store: SandboxStore,
  params: ParamReader,
  key: string,
  created: number,
): PaymentMethodRecord | undefined {
  const id = params.string(key);
  if (id === undefined) return undefined;
  const existing = store.paymentMethods.get(id);
  if (existing) return existing;
  const number = id.startsWith('pm_card_') ? cardNumberOfTestToken(id) : undefined;
  if (!number) throw resourceMissing('payment_method', id, params.name(key), 400);
  const method = testCardPaymentMethod(number, created);
  store.paymentMethods.set(method.id, method);
  return method;
}

// -----------------------------------------------------------------------------------------------
// PaymentIntents

const INTENT_PARAMS = ['amount', 'currency', 'description', 'metadata', 'payment_method', 'confirm',
  'capture_method', 'customer', 'shipping', 'receipt_email', 'setup_future_usage', 'allowed_payment_method_types',
  'payment_method_types', 'automatic_payment_methods', 'expand'] as const; // prettier-ignore
const INTENT_UNSUPPORTED = ['amount_details', 'application_fee_amount', 'confirmation_method', 'confirmation_token',
  'customer_account', 'error_on_requires_action', 'excluded_payment_method_types', 'hooks', 'mandate', 'mandate_data',
  'off_session', 'on_behalf_of', 'payment_details', 'payment_method_configuration', 'payment_method_data',
  'payment_method_options', 'radar_options', 'return_url', 'statement_descriptor', 'statement_descriptor_suffix',
  'transfer_data', 'transfer_group', 'use_stripe_sdk'] as const; // prettier-ignore

const CAPTURE_METHODS = ['automatic', 'automatic_async', 'manual'] as const;
const FUTURE_USAGES = ['on_session', 'off_session'] as const;

/** `POST /v1/payment_intents` */
export function readNewPaymentIntent(
  store: SandboxStore,
  params: ParamReader,
  apiVersion: string,
  created: number,
): NewPaymentIntent {
  allowParams(params, INTENT_PARAMS, INTENT_UNSUPPORTED);
  const amount = params.integer('amount', { required: true, min: 1, max: 99_999_999 })!;
  const currency = readCurrency(params);
  if (amount < minimumAmount(currency)) {
    throw paramError.invalid(
      'amount',
      `Amount must be at least ${formatAmount(minimumAmount(currency), currency)} ${currency}`,
      'amount_too_small',
    );
  }
  const allowed = readAllowedTypes(params, apiVersion);
  const automatic = params.hash('automatic_payment_methods');
  if (automatic) {
    automatic.allowOnly(['enabled', 'allow_redirects']);
    automatic.boolean('enabled');
    const redirects = automatic.string('allow_redirects');
    if (redirects !== undefined && redirects !== 'always' && redirects !== 'never') {
      throw paramError.invalid(
        automatic.name('allow_redirects'),
        'Invalid allow_redirects: must be one of always or never',
      );
    }
    if (allowed.types.length) {
      throw paramError.invalid(
        'automatic_payment_methods',
        `You may only specify one of these parameters: automatic_payment_methods, ${allowed.key}.`,
      );
    }
  }
  const types = allowed.types.length
    ? checkPaymentMethodTypes(allowed.types, currency, allowed.key)
    : paymentMethodTypesFor(currency);

  const givenCapture = params.string('capture_method') ?? 'automatic_async';
  const captureMethod = CAPTURE_METHODS.find((m) => m === givenCapture);
  if (!captureMethod) {
    throw paramError.invalid(
      'capture_method',
      'Invalid capture_method: must be one of automatic, automatic_async, or manual',
    );
  }
  const givenUsage = params.string('setup_future_usage');
  const setupFutureUsage = givenUsage === undefined ? null : FUTURE_USAGES.find((u) => u === givenUsage);
  if (setupFutureUsage === undefined) {
    throw paramError.invalid(
      'setup_future_usage',
      'Invalid setup_future_usage: must be one of on_session or off_session',
    );
  }
  const customer = findCustomer(store, params);
  if (setupFutureUsage && !customer) {
    throw paramError.invalid(
      'setup_future_usage',
      'The Stripe sandbox saves payment methods for a Customer only: give `customer` with `setup_future_usage`.',
    );
  }
  const receiptEmail = params.string('receipt_email', { maxLength: 800 }) ?? null;
  const method = readPaymentMethod(store, params, 'payment_method', created);
  const confirm = params.boolean('confirm') ?? false;
  readExpandNone(params);
  return {
    amount,
    currency,
    description: params.string('description', { maxLength: 1000 }) ?? null,
    metadata: params.metadata('metadata'),
    paymentMethodTypes: types,
    allowedPaymentMethodTypes:
      allowed.types.length && allowed.key === 'allowed_payment_method_types' ? types : null,
    captureMethod,
    customerId: customer?.id ?? null,
    paymentMethodId: method?.id ?? null,
    shipping: readShipping(params),
    receiptEmail,
    setupFutureUsage: setupFutureUsage,
    confirm,
  };
}

/** `expand[]` on objects that have nothing the sandbox expands. */
export function readExpandNone(params: ParamReader): void {
  params.strings('expand').forEach((path, index) => {
    throw paramError.invalid(
      `expand[${index}]`,
      `The Stripe sandbox cannot expand \`${path}\` on this object.`,
    );
  });
}

// -----------------------------------------------------------------------------------------------
// Refunds

const REFUND_REASONS = ['duplicate', 'fraudulent', 'requested_by_customer'] as const;

/** `POST /v1/refunds`: exactly one of `charge` and `payment_intent`. */
export function readNewRefund(store: SandboxStore, params: ParamReader) {
  allowParams(
    params,
    ['charge', 'payment_intent', 'amount', 'reason', 'metadata', 'expand'],
    ['currency', 'customer', 'instructions_email', 'origin', 'refund_application_fee', 'reverse_transfer'],
  );
  if (params.has('charge') && params.has('payment_intent')) {
    throw paramError.invalid(
      'charge',
      'You may only specify one of these parameters: charge, payment_intent.',
    );
  }
  // The parameters first, as Stripe checks them, then the objects they name.
  const given = params.string('reason');
  const reason = given === undefined ? null : REFUND_REASONS.find((r) => r === given);
  if (reason === undefined) {
    throw paramError.invalid('reason', `Invalid reason: must be one of ${REFUND_REASONS.join(', ')}`);
  }
  const amount = params.integer('amount', { min: 1, max: 99_999_999 });
  const metadata = params.metadata('metadata');
  readExpandNone(params);

  let charge;
  const chargeId = params.string('charge');
  const intentId = params.string('payment_intent');
  if (chargeId !== undefined) {
    charge = store.charges.get(chargeId);
    if (!charge) throw resourceMissing('charge', chargeId, 'charge', 400);
  } else if (intentId !== undefined) {
    const intent = store.paymentIntents.get(intentId);
    if (!intent) throw resourceMissing('payment_intent', intentId, 'payment_intent', 400);
    charge = intent.latestChargeId ? store.charges.get(intent.latestChargeId) : undefined;
    if (!charge || charge.status !== 'succeeded') {
      throw new StripeApiError(400, {
        type: 'invalid_request_error',
        code: 'charge_not_refundable',
        message: `This PaymentIntent (${intentId}) does not have a successful charge to refund.`,
        param: 'payment_intent',
      });
    }
  } else {
    throw paramError.invalid(
      'charge',
      'One of the following params should be provided for this request: payment_intent or charge.',
      'parameter_missing',
    );
  }
  return { charge, amount, reason, metadata };
}
