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
}

export interface LineItemRecord {
  id: string;
  description: string;
  quantity: number;
  price: PriceRecord;
  amount: number;
}

export interface CustomerDetails {
  email: string;
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
  /** `payment_intent_data.receipt_email`: where the receipt of a successful payment goes. */
  paymentIntentReceiptEmail: string | null;
  /** The business name the page shows (`branding_settings.display_name`). */
  displayName: string;
  paymentMethodTypes: ('card' | 'link' | 'us_bank_account')[];
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
  type: 'card' | 'us_bank_account';
  billing: CustomerDetails;
  card?: {
    brand: CardBrand;
    last4: string;
    expMonth: number;
    expYear: number;
    funding: string;
    fingerprint: string;
  };
  bankAccount?: { last4: string; routingNumber: string; bankName: string; fingerprint: string };
}

export interface PaymentIntentRecord {
  id: string;
  created: number;
  amount: number;
  currency: string;
  metadata: Record<string, string>;
  description: string | null;
  receiptEmail: string | null;
  paymentMethodTypes: string[];
  clientSecret: string;
  status: 'requires_payment_method' | 'processing' | 'succeeded' | 'canceled';
  amountReceived: number;
  latestChargeId: string | null;
  paymentMethodId: string | null;
  lastPaymentError: { failure: PaymentFailure; chargeId: string; paymentMethod: PaymentMethodRecord } | null;
  canceledAt: number | null;
  cancellationReason: 'abandoned' | 'automatic' | null;
}

export interface ChargeRecord {
  id: string;
  created: number;
  amount: number;
  currency: string;
  paymentIntentId: string;
  paymentMethod: PaymentMethodRecord;
  metadata: Record<string, string>;
  /** The PaymentIntent's `receipt_email`: a receipt is e-mailed there when the charge succeeds. */
  receiptEmail: string | null;
  status: 'succeeded' | 'pending' | 'failed';
  failure: PaymentFailure | null;
  balanceTransactionId: string | null;
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
  /** In creation order. */
  readonly events: EventRecord[] = [];
}
