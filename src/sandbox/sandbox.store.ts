import type { PaymentFailure, CardBrand } from './stripe/test-payment-methods';

/*
 * The sandbox's whole state, in memory: it is gone when the process stops (like a fresh Stripe
 * test account). Records hold what the sandbox needs; `stripe/stripe-objects.ts` turns them into
 * the JSON Stripe sends.
 */

export interface ProductRecord {
  id: string;
  created: number;
  name: string;
  description: string | null;
  metadata: Record<string, string>;
}

export interface PriceRecord {
  id: string;
  created: number;
  productId: string;
  currency: string;
  unitAmount: number;
  metadata: Record<string, string>;
  /** Set for a recurring price (objects only: Checkout Sessions stay one-time). */
  recurring?: { interval: 'day' | 'week' | 'month' | 'year'; intervalCount: number } | null;
  nickname?: string | null;
  lookupKey?: string | null;
}

export interface LineItemRecord {
  id: string;
  description: string;
  quantity: number;
  price: PriceRecord;
  amount: number;
}

export interface CustomerDetails {
  email: string | null;
  name: string | null;
}

export interface CheckoutSessionRecord {
  id: string;
  created: number;
  expiresAt: number;
  currency: string;
  lineItems: LineItemRecord[];
  amountTotal: number;
  successUrl: string;
  cancelUrl: string | null;
  clientReferenceId: string | null;
  customerEmail: string | null;
  metadata: Record<string, string>;
  paymentIntentMetadata: Record<string, string>;
  paymentIntentDescription: string | null;
  paymentMethodTypes: ('card' | 'link' | 'us_bank_account' | 'sepa_debit')[];
  /** `payment_intent_data[shipping]` and `[setup_future_usage]`, given to its PaymentIntent. */
  paymentIntentShipping?: ShippingRecord | null;
  paymentIntentSetupFutureUsage?: 'on_session' | 'off_session' | null;
  /** The Customer Checkout created to save a payment method (`setup_future_usage`). */
  customerId?: string | null;
  status: 'open' | 'complete' | 'expired';
  paymentStatus: 'unpaid' | 'paid';
  paymentIntentId: string | null;
  customerDetails: CustomerDetails | null;
  /** The hosted page's address, while the session is open. */
  url: string;
}

export interface PaymentMethodRecord {
  id: string;
  created: number;
  type: 'card' | 'us_bank_account' | 'sepa_debit';
  billing: CustomerDetails;
  /** Billing address and phone, when the API was given them. */
  billingAddress?: AddressRecord | null;
  billingPhone?: string | null;
  customerId?: string | null;
  metadata?: Record<string, string>;
  /** The test card number behind a card (never shown): it decides the outcome of each payment. */
  testNumber?: string;
  card?: {
    brand: CardBrand;
    last4: string;
    expMonth: number;
    expYear: number;
    funding: string;
    fingerprint: string;
  };
  bankAccount?: {
    last4: string;
    routingNumber: string;
    bankName: string;
    fingerprint: string;
    /** The test account number (never shown): it decides whether the debit settles. */
    accountNumber?: string;
  };
  sepaDebit?: {
    iban: string;
    last4: string;
    country: string;
    bankCode: string;
    branchCode: string;
    fingerprint: string;
  };
}

export interface AddressRecord {
  line1: string | null;
  line2: string | null;
  city: string | null;
  state: string | null;
  postalCode: string | null;
  country: string | null;
}

export interface ShippingRecord {
  name: string;
  phone: string | null;
  address: AddressRecord;
}

export interface CustomerRecord {
  id: string;
  created: number;
  email: string | null;
  name: string | null;
  description: string | null;
  phone: string | null;
  metadata: Record<string, string>;
}

export interface PaymentIntentRecord {
  id: string;
  created: number;
  amount: number;
  currency: string;
  metadata: Record<string, string>;
  description: string | null;
  paymentMethodTypes: string[];
  clientSecret: string;
  status:
    | 'requires_payment_method'
    | 'requires_confirmation'
    | 'requires_capture'
    | 'processing'
    | 'succeeded'
    | 'canceled';
  amountReceived: number;
  /** What the API set beyond Checkout's defaults (absent for Checkout's own PaymentIntents). */
  captureMethod?: 'automatic' | 'automatic_async' | 'manual';
  amountCapturable?: number;
  customerId?: string | null;
  shipping?: ShippingRecord | null;
  receiptEmail?: string | null;
  setupFutureUsage?: 'on_session' | 'off_session' | null;
  allowedPaymentMethodTypes?: string[] | null;
  latestChargeId: string | null;
  paymentMethodId: string | null;
  lastPaymentError: { failure: PaymentFailure; chargeId: string; paymentMethod: PaymentMethodRecord } | null;
  canceledAt: number | null;
  cancellationReason: 'abandoned' | 'automatic' | 'duplicate' | 'fraudulent' | 'requested_by_customer' | null;
}

export interface ChargeRecord {
  id: string;
  created: number;
  amount: number;
  currency: string;
  paymentIntentId: string;
  paymentMethod: PaymentMethodRecord;
  metadata: Record<string, string>;
  status: 'succeeded' | 'pending' | 'failed';
  failure: PaymentFailure | null;
  balanceTransactionId: string | null;
  /** Set by the PaymentIntents API (Checkout's charges are captured at once and have none). */
  captured?: boolean;
  amountRefunded?: number;
  disputeId?: string | null;
  customerId?: string | null;
  description?: string | null;
  shipping?: ShippingRecord | null;
  receiptEmail?: string | null;
}

export interface RefundRecord {
  id: string;
  created: number;
  amount: number;
  currency: string;
  chargeId: string;
  paymentIntentId: string | null;
  reason: 'duplicate' | 'fraudulent' | 'requested_by_customer' | null;
  metadata: Record<string, string>;
  status: 'pending' | 'succeeded' | 'failed' | 'canceled';
  failureReason: string | null;
  balanceTransactionId: string;
  failureBalanceTransactionId: string | null;
}

export interface DisputeRecord {
  id: string;
  created: number;
  amount: number;
  currency: string;
  chargeId: string;
  paymentIntentId: string | null;
  reason: string;
  /** An inquiry (warning_*) or a chargeback. */
  inquiry: boolean;
  status:
    | 'warning_needs_response'
    | 'warning_under_review'
    | 'warning_closed'
    | 'needs_response'
    | 'under_review'
    | 'won'
    | 'lost';
  evidenceDueBy: number;
  evidenceSubmitted: boolean;
  balanceTransactionIds: string[];
}

export interface DeliveryAttempt {
  number: number;
  /** Wall-clock time of the attempt (ms). */
  at: number;
  /** The `t` of the signature it carried. */
  signedAt: number;
  /** The receiver's HTTP status; absent when there was none (timeout, refused connection). */
  statusCode: number | null;
  error: string | null;
  durationMs: number;
}

export interface DeliveryRecord {
  /** 1, or 2 for the extra copy the `duplicates` chaos switch sends. */
  copy: number;
  status: 'pending' | 'succeeded' | 'failed';
  attempts: DeliveryAttempt[];
  /** Wall-clock time of the next retry, while one is scheduled. */
  nextAttemptAt: number | null;
}

export interface EventRecord {
  id: string;
  type: string;
  created: number;
  objectId: string;
  /** The exact bytes every delivery of the event carries. */
  body: string;
  /** The event as JSON (parsed `body`), for the API. */
  json: Record<string, unknown>;
  deliveries: DeliveryRecord[];
}

export class SandboxStore {
  readonly products = new Map<string, ProductRecord>();
  readonly prices = new Map<string, PriceRecord>();
  readonly sessions = new Map<string, CheckoutSessionRecord>();
  readonly paymentIntents = new Map<string, PaymentIntentRecord>();
  readonly charges = new Map<string, ChargeRecord>();
  readonly customers = new Map<string, CustomerRecord>();
  readonly paymentMethods = new Map<string, PaymentMethodRecord>();
  readonly refunds = new Map<string, RefundRecord>();
  readonly disputes = new Map<string, DisputeRecord>();
  /** In creation order. */
  readonly events: EventRecord[] = [];
}
