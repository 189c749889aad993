import type { NewCheckoutSession } from '../checkout/checkout.service';
import type { PriceRecord, SandboxStore } from '../sandbox.store';
import { formatAmount, minimumAmount } from '../stripe/currencies';
import { paramError, resourceMissing, StripeApiError } from '../stripe/stripe-error';
import { newId } from '../stripe/stripe-ids';
import { readCurrency, readPriceProduct, readUnitAmount } from './catalog.params';
import type { ParamReader } from './form-params';
import { checkPaymentMethodTypes, readLegacyPaymentMethodTypes, readShipping } from './payments.params';

/** What the sandbox implements. */
const SUPPORTED = ['mode', 'line_items', 'success_url', 'cancel_url', 'client_reference_id', 'customer_email',
  'metadata', 'payment_intent_data', 'expires_at', 'expand', 'ui_mode', 'allowed_payment_method_types'] as const; // prettier-ignore
/** Real Stripe parameters that change nothing the sandbox shows: accepted and ignored. */
const IGNORED = ['locale', 'submit_type', 'billing_address_collection', 'allow_promotion_codes', 'automatic_tax',
  'customer_creation', 'phone_number_collection', 'consent_collection', 'custom_text', 'invoice_creation',
  'payment_method_collection', 'payment_method_types', 'payment_method_options', 'custom_fields',
  'tax_id_collection', 'adaptive_pricing', 'branding_settings', 'wallet_options', 'currency'] as const; // prettier-ignore
const LINE_ITEM_PARAMS = [
  'price',
  'price_data',
  'quantity',
  'tax_rates',
  'dynamic_tax_rates',
  'metadata',
] as const;
const PRICE_DATA_PARAMS = ['currency', 'product', 'product_data', 'unit_amount', 'tax_behavior'] as const;
const PAYMENT_INTENT_DATA_PARAMS = ['metadata', 'description', 'receipt_email', 'statement_descriptor',
  'statement_descriptor_suffix', 'setup_future_usage', 'capture_method', 'shipping'] as const; // prettier-ignore
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
  stripeVersion: string | null = null,
): NewCheckoutSession {
  params.allowOnly([...SUPPORTED, ...IGNORED]);

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
  const legacyTypes = readLegacyPaymentMethodTypes(params, stripeVersion);
  const allowedTypes = params.strings('allowed_payment_method_types');
  if (legacyTypes.length && allowedTypes.length) {
    throw paramError.invalid(
      'allowed_payment_method_types',
      'You may only specify one of these parameters: allowed_payment_method_types, payment_method_types.',
    );
  }
  const paymentMethodTypes = legacyTypes.length
    ? checkPaymentMethodTypes(legacyTypes, currency, 'payment_method_types')
    : allowedTypes.length
      ? checkPaymentMethodTypes(allowedTypes, currency, 'allowed_payment_method_types')
      : undefined;
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
  const setupFutureUsage = intentData?.string('setup_future_usage') ?? null;
  if (setupFutureUsage !== null && setupFutureUsage !== 'on_session' && setupFutureUsage !== 'off_session') {
    throw paramError.invalid(
      intentData!.name('setup_future_usage'),
      'Invalid setup_future_usage: must be one of on_session or off_session',
    );
  }
  const shipping = intentData ? readShipping(intentData) : null;
  if (intentData?.string('capture_method') === 'manual') {
    throw paramError.invalid(
      intentData.name('capture_method'),
      'The Stripe sandbox captures payments automatically only.',
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
    lineItems: lineItems.map((item) => ({ ...item, description: item.description })),
    successUrl,
    cancelUrl,
    clientReferenceId,
    customerEmail,
    metadata,
    paymentIntentMetadata: intentData?.metadata('metadata') ?? {},
    paymentIntentDescription: intentData?.string('description') ?? null,
    paymentIntentShipping: shipping,
    paymentIntentSetupFutureUsage: setupFutureUsage,
    ...(paymentMethodTypes ? { paymentMethodTypes } : {}),
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
    return { description: product?.name ?? '', quantity, price };
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
