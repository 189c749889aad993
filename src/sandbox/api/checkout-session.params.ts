import type { NewCheckoutSession } from '../checkout/checkout.service';
import type { PriceRecord, SandboxStore } from '../sandbox.store';
import { formatAmount, minimumAmount } from '../stripe/currencies';
import { paramError, resourceMissing, StripeApiError } from '../stripe/stripe-error';
import { newId } from '../stripe/stripe-ids';
import { readCurrency, readPriceProduct, readUnitAmount } from './catalog.params';
import type { ParamReader } from './form-params';
import { readShipping } from './payments.params';

/**
 * `Checkout.SessionCreateParams` of the pinned API version, every one of them: modelled (kept and
 * shown, or acted on), or refused with 400 naming it. None is accepted and dropped.
 */
const MODELLED = ['mode', 'line_items', 'success_url', 'cancel_url', 'client_reference_id', 'customer_email',
  'metadata', 'payment_intent_data', 'expires_at', 'expand', 'ui_mode', 'currency', 'locale', 'submit_type',
  'billing_address_collection', 'customer_creation', 'automatic_tax', 'allow_promotion_codes',
  'phone_number_collection', 'invoice_creation', 'tax_id_collection', 'adaptive_pricing',
  'payment_method_collection', 'allowed_payment_method_types', 'excluded_payment_method_types'] as const; // prettier-ignore
const NOT_SUPPORTED = ['after_expiration', 'branding_settings', 'consent_collection', 'custom_fields', 'custom_text',
  'customer', 'customer_account', 'customer_update', 'discounts', 'integration_identifier', 'managed_payments',
  'name_collection', 'optional_items', 'origin_context', 'payment_method_configuration', 'payment_method_data',
  'payment_method_options', 'permissions', 'redirect_on_completion', 'return_url', 'saved_payment_method_options',
  'setup_intent_data', 'shipping_address_collection', 'shipping_options', 'subscription_data',
  'wallet_options'] as const; // prettier-ignore
/** Replaced by `allowed_payment_method_types` in 2026-09-30.endive; modelled for older versions. */
const PAYMENT_METHOD_TYPES_REMOVED_IN = '2026-09-30';

const LINE_ITEM_PARAMS = ['price', 'price_data', 'quantity', 'metadata', 'adjustable_quantity', 'tax_rates'] as const; // prettier-ignore
const PRICE_DATA_PARAMS = ['currency', 'product', 'product_data', 'unit_amount', 'unit_amount_decimal',
  'recurring', 'tax_behavior'] as const; // prettier-ignore
const PRODUCT_DATA_PARAMS = ['name', 'description', 'metadata', 'images', 'tax_code', 'tax_details', 'unit_label'] as const; // prettier-ignore
const PAYMENT_INTENT_DATA_PARAMS = ['metadata', 'description', 'receipt_email', 'capture_method',
  'application_fee_amount', 'on_behalf_of', 'setup_future_usage', 'shipping', 'statement_descriptor',
  'statement_descriptor_suffix', 'transfer_data', 'transfer_group'] as const; // prettier-ignore
const PAYMENT_INTENT_DATA_MODELLED = ['metadata', 'description', 'receipt_email', 'capture_method',
  'setup_future_usage', 'shipping']; // prettier-ignore
/**
 * The payment methods of the sandbox's Checkout: those of its page (card, link, ACH), and SEPA
 * Direct Debit (EUR), offered only when asked for, and paid through the API's confirmation step
 * (`/v1/payment_pages/:id/confirm`, as the Stripe CLI's fixtures pay), not on the page.
 */
const OFFERED = ['card', 'link', 'us_bank_account', 'sepa_debit'] as const;
type Offered = (typeof OFFERED)[number];

/** Refuses every parameter of `params` that is given and not in `modelled`, naming it. */
function refuseUnsupported(params: ParamReader, keys: readonly string[], modelled: readonly string[]): void {
  for (const key of keys) {
    if (params.has(key) && !modelled.includes(key)) throw paramError.unsupported(params.name(key));
  }
}

/** A setting the sandbox shows only at the value(s) it can honour; any other value is refused. */
function onlyValues<T extends string>(
  params: ParamReader,
  key: string,
  values: readonly T[],
  why: string,
): T | null {
  const value = params.string(key);
  if (value === undefined) return null;
  if (!values.includes(value as T)) throw paramError.unsupported(`${params.name(key)}=${value}`, why);
  return value as T;
}

/** `{enabled: false}` is what the sandbox does anyway; `enabled: true` (or any other field) is refused. */
function disabledOnly(params: ParamReader, key: string, why: string): void {
  const hash = params.hash(key);
  if (!hash) return;
  hash.allowOnly(['enabled', 'liability', 'invoice_data', 'required']);
  refuseUnsupported(hash, ['liability', 'invoice_data', 'required'], []);
  const enabled = hash.boolean('enabled');
  if (enabled === undefined) throw paramError.missing(hash.name('enabled'));
  if (enabled) throw paramError.unsupported(`${hash.name('enabled')}=true`, why);
}

/** `allowed_payment_method_types` (or, before 2026-09-30, `payment_method_types`) and `excluded_payment_method_types`. */
function readPaymentMethodTypes(params: ParamReader, currency: string, apiVersion: string) {
  const oldVersion = apiVersion.slice(0, 10) < PAYMENT_METHOD_TYPES_REMOVED_IN;
  if (oldVersion && params.has('allowed_payment_method_types'))
    throw paramError.unknown('allowed_payment_method_types');
  if (!oldVersion && params.has('payment_method_types')) throw paramError.unknown('payment_method_types');
  const allowedKey = oldVersion ? 'payment_method_types' : 'allowed_payment_method_types';
  const check = (key: string) =>
    params.strings(key).map((type, index) => {
      if (!OFFERED.includes(type as Offered)) {
        throw paramError.unsupported(
          `${key}[${index}]=${type}`,
          `its checkout page offers ${OFFERED.join(', ')} only`,
        );
      }
      return type as Offered;
    });
  const allowed = params.has(allowedKey) ? check(allowedKey) : null;
  const excluded = check('excluded_payment_method_types');
  // ACH Direct Debit is offered for USD only, as Stripe does; SEPA (EUR only) when asked for.
  const available = OFFERED.filter(
    (type) => (type !== 'us_bank_account' || currency === 'usd') && type !== 'sepa_debit',
  );
  if (allowed?.includes('us_bank_account') && currency !== 'usd') {
    throw paramError.invalid(
      allowedKey,
      `The payment method \`us_bank_account\` cannot be used with currency \`${currency}\`; it needs \`usd\`.`,
    );
  }
  if (allowed?.includes('sepa_debit') && currency !== 'eur') {
    throw paramError.invalid(
      allowedKey,
      `The payment method \`sepa_debit\` cannot be used with currency \`${currency}\`; it needs \`eur\`.`,
    );
  }
  const types = (allowed ?? available).filter((type) => !excluded.includes(type));
  if (!types.length) {
    throw paramError.invalid(
      'excluded_payment_method_types',
      'No payment method is left to offer: excluded_payment_method_types excludes every allowed one.',
    );
  }
  return { types: [...new Set(types)], allowed };
}

export const SESSION_EXPANSIONS = ['line_items', 'payment_intent'] as const;

const MIN_LIFETIME_SECONDS = 30 * 60;
const MAX_LIFETIME_SECONDS = 24 * 60 * 60;
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

/**
 * Checks `POST /v1/checkout/sessions` as Stripe does, for the hosted payment mode the service uses
 * (and the Stripe CLI's fixtures): the first parameter at fault is reported by name.
 */
export function readNewCheckoutSession(
  store: SandboxStore,
  params: ParamReader,
  now: number,
  apiVersion: string,
): NewCheckoutSession {
  params.allowOnly([...MODELLED, ...NOT_SUPPORTED, 'payment_method_types']);
  refuseUnsupported(params, NOT_SUPPORTED, []);
  const locale = onlyValues(
    params,
    'locale',
    ['auto', 'en'] as const,
    'its checkout page is in English only',
  );
  const submitType = onlyValues(
    params,
    'submit_type',
    ['auto', 'pay'] as const,
    'its page has a Pay button only',
  );
  const billingAddressCollection = onlyValues(params, 'billing_address_collection', ['auto'] as const,
    'its checkout page collects no address'); // prettier-ignore
  onlyValues(params, 'customer_creation', ['if_required'] as const, 'it creates no customers');
  const paymentMethodCollection =
    onlyValues(params, 'payment_method_collection', ['always', 'if_required'] as const, '') ?? 'always';
  const allowPromotionCodes = params.boolean('allow_promotion_codes');
  if (allowPromotionCodes)
    throw paramError.unsupported('allow_promotion_codes=true', 'it has no promotion codes');
  disabledOnly(params, 'automatic_tax', 'it computes no tax');
  disabledOnly(params, 'phone_number_collection', 'its checkout page collects no phone number');
  disabledOnly(params, 'invoice_creation', 'it makes no invoices');
  disabledOnly(params, 'tax_id_collection', 'its checkout page collects no tax id');
  disabledOnly(params, 'adaptive_pricing', 'it converts no currencies');

  const mode = params.string('mode', { required: true })!;
  if (!['payment', 'setup', 'subscription'].includes(mode)) {
    throw paramError.invalid('mode', `Invalid mode: must be one of payment, setup, or subscription`);
  }
  if (mode !== 'payment') {
    throw paramError.invalid('mode', `The Stripe sandbox supports mode \`payment\` only, not \`${mode}\`.`);
  }
  const uiMode = params.string('ui_mode');
  if (uiMode !== undefined && uiMode !== 'hosted' && uiMode !== 'hosted_page') {
    throw paramError.invalid(
      'ui_mode',
      `The Stripe sandbox supports hosted Checkout only, not \`${uiMode}\`.`,
    );
  }

  const lineItems = readLineItems(store, params, now);
  const currency = lineItems[0].price.currency;
  const givenCurrency = params.string('currency')?.toLowerCase();
  if (givenCurrency !== undefined && givenCurrency !== currency) {
    throw paramError.invalid(
      'currency',
      `currency (${givenCurrency}) must be the line items' currency (${currency}).`,
    );
  }
  const paymentMethods = readPaymentMethodTypes(params, currency, apiVersion);
  const total = lineItems.reduce((sum, item) => sum + item.price.unitAmount * item.quantity, 0);
  if (total < minimumAmount(currency)) {
    throw new StripeApiError(
      400,
      {
        type: 'invalid_request_error',
        message: `The Checkout Session's total amount due must add up to at least ${formatAmount(minimumAmount(currency), currency)} ${currency}`,
      },
      true,
    );
  }

  const successUrl = readUrl(params, 'success_url', true)!;
  const cancelUrl = readUrl(params, 'cancel_url', false) ?? null;
  const customerEmail = params.string('customer_email', { maxLength: 800 }) ?? null;
  if (customerEmail !== null && !EMAIL.test(customerEmail)) {
    throw paramError.invalid('customer_email', `Invalid email address: ${customerEmail}`, 'email_invalid');
  }
  const clientReferenceId = params.string('client_reference_id', { maxLength: 200 }) ?? null;
  const metadata = params.metadata('metadata');
  const intentData = params.hash('payment_intent_data')?.allowOnly(PAYMENT_INTENT_DATA_PARAMS);
  if (intentData) {
    refuseUnsupported(intentData, PAYMENT_INTENT_DATA_PARAMS, PAYMENT_INTENT_DATA_MODELLED);
    onlyValues(intentData, 'capture_method', ['automatic', 'automatic_async'] as const,
      'it captures payments automatically only'); // prettier-ignore
  }
  const givenUsage = intentData?.string('setup_future_usage');
  const setupFutureUsage =
    givenUsage === undefined ? null : (['on_session', 'off_session'] as const).find((u) => u === givenUsage);
  if (setupFutureUsage === undefined) {
    throw paramError.invalid(
      intentData!.name('setup_future_usage'),
      'Invalid setup_future_usage: must be one of on_session or off_session',
    );
  }
  const shipping = intentData ? readShipping(intentData) : null;
  const receiptEmail = intentData?.string('receipt_email', { maxLength: 800 }) ?? null;
  if (receiptEmail !== null && !EMAIL.test(receiptEmail)) {
    throw paramError.invalid(
      intentData!.name('receipt_email'),
      `Invalid email address: ${receiptEmail}`,
      'email_invalid',
    );
  }

  const expiresAt = params.integer('expires_at') ?? now + MAX_LIFETIME_SECONDS;
  if (expiresAt - now < MIN_LIFETIME_SECONDS) {
    throw paramError.invalid(
      'expires_at',
      'The `expires_at` timestamp must be at least 30 minutes from Checkout Session creation.',
    );
  }
  if (expiresAt - now > MAX_LIFETIME_SECONDS) {
    throw paramError.invalid(
      'expires_at',
      'The `expires_at` timestamp must be less than 24 hours from Checkout Session creation.',
    );
  }
  readExpand(params, SESSION_EXPANSIONS);

  return {
    currency,
    lineItems,
    paymentMethodTypes: paymentMethods.types,
    settings: {
      locale,
      submitType,
      billingAddressCollection,
      allowPromotionCodes: allowPromotionCodes === false ? false : null,
      paymentMethodCollection,
      allowedPaymentMethodTypes: paymentMethods.allowed,
      receiptEmail,
    },
    successUrl,
    cancelUrl,
    clientReferenceId,
    customerEmail,
    metadata,
    paymentIntentMetadata: intentData?.metadata('metadata') ?? {},
    paymentIntentDescription: intentData?.string('description') ?? null,
    paymentIntentShipping: shipping,
    paymentIntentSetupFutureUsage: setupFutureUsage,
    expiresAt,
  };
}

function readLineItems(store: SandboxStore, params: ParamReader, now: number) {
  const items = params.list('line_items');
  if (!items?.length) {
    throw paramError.invalid(
      'line_items',
      'You must provide at least one line item in `payment` mode.',
      'parameter_missing',
    );
  }
  const lineItems = items.map((item) => {
    item.allowOnly(LINE_ITEM_PARAMS);
    refuseUnsupported(item, ['adjustable_quantity', 'tax_rates'], []);
    const price = readLineItemPrice(store, item, now);
    if (price.recurring) {
      throw paramError.invalid(
        item.name('price'),
        'You specified `payment` mode but passed a recurring price. Either switch to `subscription` mode or use only ' +
          'one-time prices. (The Stripe sandbox has no subscriptions.)',
      );
    }
    const quantity = item.integer('quantity', { required: true, min: 1, max: 999_999 })!;
    const product = store.products.get(price.productId);
    return { description: product?.name ?? '', quantity, price, metadata: item.metadata('metadata') };
  });
  const currencies = new Set(lineItems.map((item) => item.price.currency));
  if (currencies.size > 1) {
    throw paramError.invalid('line_items', 'All line items must use the same currency.');
  }
  return lineItems;
}

function readLineItemPrice(store: SandboxStore, item: ParamReader, now: number): PriceRecord {
  if (item.has('price') && item.has('price_data')) {
    throw paramError.invalid(
      item.name('price'),
      'You may only specify one of these parameters: price, price_data.',
    );
  }
  const priceId = item.string('price');
  if (priceId !== undefined) {
    const price = store.prices.get(priceId);
    if (!price) throw resourceMissing('price', priceId, item.name('price'), 400);
    return price;
  }
  const data = item.hash('price_data');
  if (!data) {
    throw paramError.invalid(
      item.name('price'),
      'You must specify either `price` or `price_data` for each line item.',
      'parameter_missing',
    );
  }
  data.allowOnly(PRICE_DATA_PARAMS);
  refuseUnsupported(data, ['unit_amount_decimal', 'recurring', 'tax_behavior'], []);
  const productData = data.hash('product_data');
  if (productData) {
    productData.allowOnly(PRODUCT_DATA_PARAMS);
    refuseUnsupported(productData, ['images', 'tax_code', 'tax_details', 'unit_label'], []);
  }
  const currency = readCurrency(data);
  const unitAmount = readUnitAmount(data);
  const product = readPriceProduct(store, data, now);
  const price: PriceRecord = {
    id: newId.price(),
    created: now,
    productId: product.id,
    currency,
    unitAmount,
    metadata: {},
  };
  store.prices.set(price.id, price);
  return price;
}

function readUrl(params: ParamReader, key: string, required: boolean): string | undefined {
  const value = params.string(key, { required, maxLength: 5000 });
  if (value === undefined) return undefined;
  let url: URL;
  try {
    url = new URL(value.replaceAll('{CHECKOUT_SESSION_ID}', 'cs'));
  } catch {
    throw paramError.invalid(key, 'Not a valid URL', 'url_invalid');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw paramError.invalid(key, 'Not a valid URL', 'url_invalid');
  }
  return value;
}

/** `expand[]`: the expansions asked for, each one checked. */
export function readExpand(params: ParamReader, allowed: readonly string[]): Set<string> {
  const expand = params.strings('expand');
  expand.forEach((path, index) => {
    if (!allowed.includes(path)) {
      throw paramError.invalid(`expand[${index}]`, `This property cannot be expanded (${path}).`);
    }
  });
  return new Set(expand);
}
