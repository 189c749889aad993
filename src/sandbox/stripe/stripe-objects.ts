import { createHash } from 'node:crypto';
import type Stripe from 'stripe';
import type {
  AddressRecord,
  ChargeRecord,
  CustomerRecord,
  CheckoutSessionRecord,
  CustomerDetails,
  LineItemRecord,
  PaymentIntentRecord,
  PaymentMethodRecord,
  PriceRecord,
  ProductRecord,
  ShippingRecord,
} from '../sandbox.store';

/*
 * Records → the JSON Stripe sends, field for field (API version 2026-10-28.endive; compare
 * test/fixtures/stripe-events). The return types are stripe-node's own, so the compiler checks
 * that no field of the installed SDK's objects is missing.
 */

export const STATEMENT_DESCRIPTOR = 'ORDER FLOW SANDBOX';
/** The one payment method configuration of the sandbox account. */
export const PAYMENT_METHOD_CONFIGURATION_ID = 'pmc_1SandboxOrderFlowCfg0001';

type Json<T> = T;
/** Prices carry `unit_amount_decimal` as a string on the wire. */
export type PriceJson = Omit<Stripe.Price, 'unit_amount_decimal'> & { unit_amount_decimal: string | null };
export type LineItemJson = Omit<Stripe.LineItem, 'price'> & { price: PriceJson };

export function productJson(product: ProductRecord): Json<Stripe.Product> {
  return {
    id: product.id,
    object: 'product',
    active: true,
    created: product.created,
    default_price: null,
    description: product.description,
    images: [],
    livemode: false,
    marketing_features: [],
    metadata: { ...product.metadata },
    name: product.name,
    package_dimensions: null,
    shippable: null,
    statement_descriptor: null,
    tax_code: null,
    tax_details: null,
    type: 'service',
    unit_label: null,
    updated: product.created,
    url: null,
  };
}

export function priceJson(price: PriceRecord): PriceJson {
  return {
    id: price.id,
    object: 'price',
    active: true,
    billing_scheme: 'per_unit',
    created: price.created,
    currency: price.currency,
    custom_unit_amount: null,
    livemode: false,
    lookup_key: price.lookupKey ?? null,
    metadata: { ...price.metadata },
    nickname: price.nickname ?? null,
    product: price.productId,
    recurring: price.recurring
      ? {
          interval: price.recurring.interval,
          interval_count: price.recurring.intervalCount,
          meter: null,
          trial_period_days: null,
          usage_type: 'licensed',
        }
      : null,
    tax_behavior: 'unspecified',
    tiers_mode: null,
    transform_quantity: null,
    type: price.recurring ? 'recurring' : 'one_time',
    unit_amount: price.unitAmount,
    unit_amount_decimal: String(price.unitAmount),
  };
}

export function customerJson(customer: CustomerRecord): Json<Stripe.Customer> {
  return {
    id: customer.id,
    object: 'customer',
    address: null,
    balance: 0,
    created: customer.created,
    currency: null,
    customer_account: null,
    default_source: null,
    delinquent: false,
    description: customer.description,
    discount: null,
    email: customer.email,
    invoice_prefix: customer.id.slice(4, 12).toUpperCase(),
    invoice_settings: {
      custom_fields: null,
      default_payment_method: null,
      footer: null,
      rendering_options: null,
    },
    livemode: false,
    metadata: { ...customer.metadata },
    name: customer.name,
    next_invoice_sequence: 1,
    phone: customer.phone,
    preferred_locales: [],
    shipping: null,
    tax_exempt: 'none',
    test_clock: null,
  };
}

export function addressJson(address: AddressRecord | null | undefined): Stripe.Address {
  return {
    city: address?.city ?? null,
    country: address?.country ?? null,
    line1: address?.line1 ?? null,
    line2: address?.line2 ?? null,
    postal_code: address?.postalCode ?? null,
    state: address?.state ?? null,
  };
}

export function shippingJson(shipping: ShippingRecord | null | undefined) {
  if (!shipping) return null;
  return {
    address: addressJson(shipping.address),
    carrier: null,
    name: shipping.name,
    phone: shipping.phone,
    tracking_number: null,
  };
}

export function lineItemJson(item: LineItemRecord): LineItemJson {
  return {
    id: item.id,
    object: 'item',
    adjustable_quantity: null,
    amount_discount: 0,
    amount_subtotal: item.amount,
    amount_tax: 0,
    amount_total: item.amount,
    currency: item.price.currency,
    description: item.description,
    metadata: { ...(item.metadata ?? {}) },
    price: priceJson(item.price),
    quantity: item.quantity,
  };
}

export function listJson<T>(url: string, data: T[], hasMore = false) {
  return { object: 'list' as const, data, has_more: hasMore, url };
}

const US_BANK_ACCOUNT_OPTIONS = {
  financial_connections: { permissions: ['payment_method' as const], prefetch: [] },
  verification_method: 'automatic' as const,
};

function customerDetailsJson(details: CustomerDetails): Stripe.Checkout.Session.CustomerDetails {
  return {
    address: { city: null, country: 'US', line1: null, line2: null, postal_code: null, state: null },
    business_name: null,
    email: details.email,
    individual_name: null,
    name: details.name,
    phone: null,
    tax_exempt: 'none',
    tax_ids: [],
  };
}

export function checkoutSessionJson(
  session: CheckoutSessionRecord,
  expand: { lineItems?: boolean } = {},
): Json<
  Omit<Stripe.Checkout.Session, 'line_items'> & { line_items?: ReturnType<typeof listJson<LineItemJson>> }
> {
  const offersBank = session.paymentMethodTypes.includes('us_bank_account');
  const settings = session.settings;
  return {
    id: session.id,
    object: 'checkout.session',
    adaptive_pricing: { enabled: false },
    after_expiration: null,
    allow_promotion_codes: settings?.allowPromotionCodes ?? null,
    allowed_payment_method_types: settings?.allowedPaymentMethodTypes
      ? [...settings.allowedPaymentMethodTypes]
      : null,
    amount_subtotal: session.amountTotal,
    amount_total: session.amountTotal,
    automatic_tax: { enabled: false, liability: null, provider: null, status: null },
    billing_address_collection: settings?.billingAddressCollection ?? null,
    branding_settings: {
      background_color: '#ffffff',
      border_style: 'rounded',
      button_color: '#0074d4',
      display_name: session.displayName,
      font_family: 'default',
      icon: null,
      logo: null,
    },
    cancel_url: session.cancelUrl,
    client_reference_id: session.clientReferenceId,
    client_secret: null,
    collected_information: null,
    consent: null,
    consent_collection: null,
    created: session.created,
    currency: session.currency,
    currency_conversion: null,
    custom_fields: [],
    custom_text: {
      after_submit: null,
      shipping_address: null,
      submit: null,
      terms_of_service_acceptance: null,
    },
    customer: session.customerId ?? null,
    customer_account: null,
    customer_creation: 'if_required',
    customer_details: session.customerDetails ? customerDetailsJson(session.customerDetails) : null,
    customer_email: session.customerEmail,
    discounts: [],
    expires_at: session.expiresAt,
    integration_identifier: null,
    invoice: null,
    invoice_creation: {
      enabled: false,
      invoice_data: {
        account_tax_ids: null,
        custom_fields: null,
        description: null,
        footer: null,
        issuer: null,
        metadata: {},
        rendering_options: null,
      },
    },
    ...(expand.lineItems
      ? {
          line_items: listJson(
            `/v1/checkout/sessions/${session.id}/line_items`,
            session.lineItems.map(lineItemJson),
          ),
        }
      : {}),
    livemode: false,
    locale: settings?.locale ?? null,
    managed_payments: { enabled: false },
    metadata: { ...session.metadata },
    mode: 'payment',
    origin_context: null,
    payment_intent: session.paymentIntentId,
    payment_link: null,
    payment_method_collection: settings?.paymentMethodCollection ?? 'always',
    payment_method_configuration_details: { id: PAYMENT_METHOD_CONFIGURATION_ID, parent: null },
    payment_method_options: {
      card: { request_three_d_secure: 'automatic' },
      ...(offersBank ? { us_bank_account: US_BANK_ACCOUNT_OPTIONS } : {}),
      ...(session.paymentMethodTypes.includes('sepa_debit') ? { sepa_debit: {} } : {}),
    },
    payment_method_types: [...session.paymentMethodTypes],
    payment_status: session.paymentStatus,
    permissions: null,
    phone_number_collection: { enabled: false },
    recovered_from: null,
    saved_payment_method_options: null,
    setup_intent: null,
    shipping_address_collection: null,
    shipping_cost: null,
    shipping_options: [],
    status: session.status,
    submit_type: settings?.submitType ?? null,
    subscription: null,
    success_url: session.successUrl,
    total_details: { amount_discount: 0, amount_shipping: 0, amount_tax: 0 },
    ui_mode: 'hosted_page',
    url: session.status === 'open' ? session.url : null,
    wallet_options: null,
  };
}

function billingDetailsJson(method: PaymentMethodRecord) {
  const details = method.billing;
  return {
    address: method.billingAddress
      ? addressJson(method.billingAddress)
      : { city: null, country: 'US', line1: null, line2: null, postal_code: null, state: null },
    email: details.email,
    name: details.name,
    phone: method.billingPhone ?? null,
    tax_id: null,
  };
}

export function paymentMethodJson(method: PaymentMethodRecord): Json<Stripe.PaymentMethod> {
  const { card, bankAccount, sepaDebit } = method;
  return {
    id: method.id,
    object: 'payment_method',
    allow_redisplay: 'unspecified',
    billing_details: billingDetailsJson(method),
    ...(card
      ? {
          card: {
            brand: card.brand,
            checks: { address_line1_check: null, address_postal_code_check: null, cvc_check: 'pass' },
            country: 'US',
            display_brand: card.brand,
            exp_month: card.expMonth,
            exp_year: card.expYear,
            fingerprint: card.fingerprint,
            funding: card.funding,
            generated_from: null,
            last4: card.last4,
            networks: { available: [card.brand], preferred: null },
            regulated_status: 'unregulated',
            three_d_secure_usage: { supported: true },
            wallet: null,
          },
        }
      : {}),
    created: method.created,
    customer: method.customerId ?? null,
    customer_account: null,
    livemode: false,
    metadata: { ...method.metadata },
    radar_options: {},
    ...(sepaDebit
      ? {
          sepa_debit: {
            bank_code: sepaDebit.bankCode,
            branch_code: sepaDebit.branchCode,
            country: sepaDebit.country,
            fingerprint: sepaDebit.fingerprint,
            generated_from: { charge: null, setup_attempt: null },
            last4: sepaDebit.last4,
          },
        }
      : {}),
    type: method.type,
    ...(bankAccount
      ? {
          us_bank_account: {
            account_holder_type: 'individual',
            account_type: 'checking',
            bank_name: bankAccount.bankName,
            financial_connections_account: null,
            fingerprint: bankAccount.fingerprint,
            last4: bankAccount.last4,
            networks: { preferred: 'ach', supported: ['ach'] },
            routing_number: bankAccount.routingNumber,
            status_details: null,
          },
        }
      : {}),
  };
}

function lastPaymentErrorJson(
  error: NonNullable<PaymentIntentRecord['lastPaymentError']>,
): Stripe.PaymentIntent.LastPaymentError {
  const { failure } = error;
  return {
    ...(failure.adviceCode ? { advice_code: failure.adviceCode } : {}),
    charge: error.chargeId,
    code: failure.code,
    ...(failure.declineCode ? { decline_code: failure.declineCode } : {}),
    doc_url: `https://stripe.com/docs/error-codes/${failure.code.replace(/_/g, '-')}`,
    message: failure.message,
    ...(failure.networkDeclineCode ? { network_decline_code: failure.networkDeclineCode } : {}),
    ...(failure.param ? { param: failure.param } : {}),
    payment_method: paymentMethodJson(error.paymentMethod),
    type: failure.type,
  };
}

export function paymentIntentJson(intent: PaymentIntentRecord): Json<Stripe.PaymentIntent> {
  const offersBank = intent.paymentMethodTypes.includes('us_bank_account');
  return {
    id: intent.id,
    object: 'payment_intent',
    allowed_payment_method_types: intent.allowedPaymentMethodTypes ?? null,
    amount: intent.amount,
    amount_capturable: intent.amountCapturable ?? 0,
    amount_details: { tip: {} },
    amount_received: intent.amountReceived,
    application: null,
    application_fee_amount: null,
    automatic_payment_methods: null,
    canceled_at: intent.canceledAt,
    cancellation_reason: intent.cancellationReason,
    capture_method: intent.captureMethod ?? 'automatic_async',
    client_secret: intent.clientSecret,
    confirmation_method: 'automatic',
    created: intent.created,
    currency: intent.currency,
    customer: intent.customerId ?? null,
    customer_account: null,
    description: intent.description,
    excluded_payment_method_types: null,
    last_payment_error: intent.lastPaymentError ? lastPaymentErrorJson(intent.lastPaymentError) : null,
    latest_charge: intent.latestChargeId,
    livemode: false,
    managed_payments: { enabled: false },
    metadata: { ...intent.metadata },
    next_action: null,
    on_behalf_of: null,
    payment_method: intent.paymentMethodId,
    payment_method_configuration_details: null,
    payment_method_options: {
      card: { installments: null, mandate_options: null, network: null, request_three_d_secure: 'automatic' },
      link: { persistent_token: null },
      ...(offersBank ? { us_bank_account: { ...US_BANK_ACCOUNT_OPTIONS, mandate_options: {} } } : {}),
      ...(intent.paymentMethodTypes.includes('sepa_debit') ? { sepa_debit: {} } : {}),
    },
    payment_method_types: [...intent.paymentMethodTypes],
    payment_record: null,
    processing: null,
    receipt_email: intent.receiptEmail ?? null,
    review: null,
    setup_future_usage: intent.setupFutureUsage ?? null,
    shipping: shippingJson(intent.shipping),
    source: null,
    statement_descriptor: null,
    statement_descriptor_suffix: null,
    status: intent.status,
    transfer_data: null,
    transfer_group: null,
  };
}

function outcomeJson(charge: ChargeRecord): Stripe.Charge.Outcome | null {
  const { failure } = charge;
  if (charge.status === 'pending') return null;
  const base = {
    advice_code: null,
    network_advice_code: null,
    network_decline_code: null,
    risk_level: charge.paymentMethod.type === 'card' ? 'normal' : 'not_assessed',
    ...(charge.paymentMethod.type === 'card' ? { risk_score: 20 } : {}),
  };
  if (!failure) {
    return {
      ...base,
      network_status: 'approved_by_network',
      reason: null,
      seller_message: 'Payment complete.',
      type: 'authorized',
    };
  }
  return {
    ...base,
    advice_code: failure.adviceCode,
    network_decline_code: failure.networkDeclineCode,
    network_status: 'declined_by_network',
    reason: failure.declineCode,
    seller_message: failure.sellerMessage,
    type: 'issuer_declined',
  };
}

function paymentMethodDetailsJson(charge: ChargeRecord): Stripe.Charge.PaymentMethodDetails {
  const { card, bankAccount, sepaDebit } = charge.paymentMethod;
  if (sepaDebit) {
    return {
      type: 'sepa_debit',
      sepa_debit: {
        bank_code: sepaDebit.bankCode,
        branch_code: sepaDebit.branchCode,
        country: sepaDebit.country,
        fingerprint: sepaDebit.fingerprint,
        last4: sepaDebit.last4,
        mandate: null,
      },
    };
  }
  if (card) {
    return {
      card: {
        amount_authorized: charge.status === 'succeeded' ? charge.amount : null,
        capture_before: charge.captured === false ? charge.created + 7 * 86_400 : undefined,
        authorization_code: null,
        brand: card.brand,
        checks: { address_line1_check: null, address_postal_code_check: null, cvc_check: 'pass' },
        country: 'US',
        // A customer-initiated online payment without 3-D Secure: no ECI; no linked transactions.
        electronic_commerce_indicator: null,
        exp_month: card.expMonth,
        exp_year: card.expYear,
        extended_authorization: { status: 'disabled' },
        fingerprint: card.fingerprint,
        funding: card.funding,
        incremental_authorization: { status: 'unavailable' },
        installments: null,
        last4: card.last4,
        mandate: null,
        multicapture: { status: 'unavailable' },
        network: card.brand,
        network_token: { used: false },
        network_transaction_id: null,
        overcapture: { maximum_amount_capturable: charge.amount, status: 'unavailable' },
        regulated_status: 'unregulated',
        three_d_secure: null,
        transaction_link_id: null,
        wallet: null,
      },
      type: 'card',
    };
  }
  return {
    type: 'us_bank_account',
    us_bank_account: {
      account_holder_type: 'individual',
      account_type: 'checking',
      bank_name: bankAccount?.bankName ?? null,
      fingerprint: bankAccount?.fingerprint ?? null,
      last4: bankAccount?.last4 ?? null,
      payment_reference: null,
      routing_number: bankAccount?.routingNumber ?? null,
    },
  };
}

export function chargeJson(charge: ChargeRecord): Json<Stripe.Charge> {
  const succeeded = charge.status === 'succeeded';
  const captured = succeeded && charge.captured !== false;
  const amountRefunded = charge.amountRefunded ?? 0;
  return {
    id: charge.id,
    object: 'charge',
    amount: charge.amount,
    amount_captured: captured ? charge.amount : 0,
    amount_refunded: amountRefunded,
    application: null,
    application_fee: null,
    application_fee_amount: null,
    balance_transaction: charge.balanceTransactionId,
    billing_details: billingDetailsJson(charge.paymentMethod),
    calculated_statement_descriptor: STATEMENT_DESCRIPTOR,
    captured,
    created: charge.created,
    currency: charge.currency,
    customer: charge.customerId ?? null,
    description: charge.description ?? null,
    disputed: Boolean(charge.disputeId),
    failure_balance_transaction: null,
    failure_code: charge.failure?.code ?? null,
    failure_message: charge.failure?.message ?? null,
    fraud_details: {},
    livemode: false,
    metadata: { ...charge.metadata },
    on_behalf_of: null,
    outcome: outcomeJson(charge),
    paid: succeeded,
    payment_intent: charge.paymentIntentId,
    payment_method: charge.paymentMethod.id,
    payment_method_details: paymentMethodDetailsJson(charge),
    radar_options: {},
    receipt_email: charge.receiptEmail ?? null,
    receipt_number: succeeded && charge.receiptEmail ? receiptNumber(charge.id) : null,
    receipt_url: null,
    refunded: captured && amountRefunded === charge.amount,
    review: null,
    shipping: shippingJson(charge.shipping),
    source: null,
    source_transfer: null,
    statement_descriptor: null,
    statement_descriptor_suffix: null,
    status: charge.status,
    transfer_data: null,
    transfer_group: null,
  };
}

/**
 * The number Stripe prints on a receipt (`1234-5678`), assigned when the receipt is sent: here
 * derived from the charge id, so that it is the same wherever the charge is shown.
 */
export function receiptNumber(chargeId: string): string {
  const digits = [...createHash('sha256').update(chargeId).digest()]
    .slice(0, 8)
    .map((byte) => byte % 10)
    .join('');
  return `${digits.slice(0, 4)}-${digits.slice(4)}`;
}

/** The event envelope, in Stripe's key order. */
export function eventJson(event: {
  id: string;
  type: string;
  created: number;
  apiVersion: string;
  object: object;
  request: { id: string | null; idempotency_key: string | null };
}) {
  return {
    id: event.id,
    object: 'event' as const,
    api_version: event.apiVersion,
    created: event.created,
    data: { object: event.object },
    livemode: false,
    pending_webhooks: 1,
    request: event.request,
    type: event.type,
  };
}
