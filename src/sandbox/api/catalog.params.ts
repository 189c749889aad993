import type { PriceRecord, ProductRecord, SandboxStore } from '../sandbox.store';
import { SUPPORTED_CURRENCIES } from '../stripe/currencies';
import { paramError, resourceMissing } from '../stripe/stripe-error';
import { newId } from '../stripe/stripe-ids';
import type { ParamReader } from './form-params';

/**
 * What the sandbox models of products and prices. Stripe accepts more (`images`, `tax_code`,
 * `tax_behavior`, …): those are refused with a 400 naming them, never accepted and dropped. `active`
 * is accepted only as Stripe's default, `true`.
 */
const PRODUCT_PARAMS = ['name', 'description', 'metadata', 'active', 'expand'] as const;
const PRODUCT_UNSUPPORTED = ['id', 'images', 'shippable', 'statement_descriptor', 'tax_code', 'unit_label', 'url',
  'default_price_data', 'marketing_features', 'package_dimensions'] as const; // prettier-ignore
const PRICE_PARAMS = ['currency', 'product', 'product_data', 'unit_amount', 'metadata', 'active', 'expand',
  'nickname', 'lookup_key', 'recurring'] as const; // prettier-ignore
const PRICE_UNSUPPORTED = ['tax_behavior', 'billing_scheme', 'currency_options', 'custom_unit_amount',
  'tiers', 'tiers_mode', 'transfer_lookup_key', 'transform_quantity', 'unit_amount_decimal'] as const; // prettier-ignore
const PRODUCT_DATA_PARAMS = ['name', 'metadata', 'active', 'description'] as const;
const PRODUCT_DATA_UNSUPPORTED = ['id', 'statement_descriptor', 'tax_code', 'unit_label', 'images'] as const;

/** Refuses what Stripe accepts but the sandbox does not model, then anything Stripe does not know. */
function allowModelled(
  params: ParamReader,
  modelled: readonly string[],
  unsupported: readonly string[],
): void {
  for (const key of unsupported) {
    if (params.has(key)) throw paramError.unsupported(params.name(key));
  }
  const active = params.string('active');
  if (active !== undefined && active !== 'true') throw paramError.unsupported(params.name('active'));
  params.allowOnly(modelled);
}

export function readCurrency(params: ParamReader, key = 'currency'): string {
  const currency = params.string(key, { required: true })!.toLowerCase();
  if (!SUPPORTED_CURRENCIES.has(currency)) {
    throw paramError.invalid(
      params.name(key),
      `Invalid currency: ${currency}. Stripe currently supports these currencies: ${[...SUPPORTED_CURRENCIES].join(', ')}`,
    );
  }
  return currency;
}

export function readUnitAmount(params: ParamReader): number {
  return params.integer('unit_amount', { required: true, min: 0, max: 99_999_999 })!;
}

/** `POST /v1/products` */
export function createProduct(store: SandboxStore, params: ParamReader, created: number): ProductRecord {
  allowModelled(params, PRODUCT_PARAMS, PRODUCT_UNSUPPORTED);
  return saveProduct(store, params, created);
}

/** A product from `product_data` (inline in a price or a Checkout line item). */
export function createInlineProduct(
  store: SandboxStore,
  params: ParamReader,
  created: number,
): ProductRecord {
  allowModelled(params, PRODUCT_DATA_PARAMS, PRODUCT_DATA_UNSUPPORTED);
  return saveProduct(store, params, created);
}

function saveProduct(store: SandboxStore, params: ParamReader, created: number): ProductRecord {
  const name = params.string('name', { required: true, maxLength: 250 })!;
  const product: ProductRecord = {
    id: newId.product(),
    created,
    name,
    description: params.string('description', { maxLength: 40_000 }) ?? null,
    metadata: params.metadata('metadata'),
  };
  store.products.set(product.id, product);
  return product;
}

export function findProduct(store: SandboxStore, params: ParamReader, key: string): ProductRecord {
  const id = params.string(key, { required: true })!;
  const product = store.products.get(id);
  if (!product) throw resourceMissing('product', id, params.name(key), 400);
  return product;
}

const INTERVALS = ['day', 'week', 'month', 'year'] as const;

/**
 * `recurring[interval]` and `[interval_count]`: a recurring price is kept and shown as Stripe shows
 * it (the sandbox has no subscriptions, and Checkout Sessions refuse it, as mode `payment` does).
 */
function readRecurring(params: ParamReader): PriceRecord['recurring'] {
  const recurring = params.hash('recurring');
  if (!recurring) return null;
  for (const key of ['meter', 'trial_period_days', 'usage_type', 'aggregate_usage']) {
    if (recurring.has(key)) {
      throw paramError.invalid(
        recurring.name(key),
        `The Stripe sandbox does not support the parameter \`${recurring.name(key)}\`.`,
        'parameter_unknown',
      );
    }
  }
  recurring.allowOnly(['interval', 'interval_count']);
  const given = recurring.string('interval', { required: true })!;
  const interval = INTERVALS.find((name) => name === given);
  if (!interval) {
    throw paramError.invalid(
      recurring.name('interval'),
      'Invalid interval: must be one of day, week, month, or year',
    );
  }
  const maxCount = { day: 1095, week: 156, month: 36, year: 3 }[interval];
  const intervalCount = recurring.integer('interval_count', { min: 1, max: maxCount }) ?? 1;
  return { interval, intervalCount };
}

/** `POST /v1/prices` */
export function createPrice(store: SandboxStore, params: ParamReader, created: number): PriceRecord {
  allowModelled(params, PRICE_PARAMS, PRICE_UNSUPPORTED);
  const recurring = readRecurring(params);
  const currency = readCurrency(params);
  const product = readPriceProduct(store, params, created);
  const price: PriceRecord = {
    id: newId.price(),
    created,
    productId: product.id,
    currency,
    unitAmount: readUnitAmount(params),
    metadata: params.metadata('metadata'),
    recurring,
    nickname: params.string('nickname', { maxLength: 5000 }) ?? null,
    lookupKey: params.string('lookup_key', { maxLength: 200 }) ?? null,
  };
  store.prices.set(price.id, price);
  return price;
}

/** `product` (an id) or `product_data` (a new product), exactly one of them. */
export function readPriceProduct(store: SandboxStore, params: ParamReader, created: number): ProductRecord {
  if (params.has('product') && params.has('product_data')) {
    throw paramError.invalid(
      params.name('product'),
      'You may only specify one of these parameters: product, product_data.',
    );
  }
  const productData = params.hash('product_data');
  if (productData) return createInlineProduct(store, productData, created);
  if (!params.has('product')) throw paramError.missing(params.name('product'));
  return findProduct(store, params, 'product');
}
