import { Logger } from '@nestjs/common';
import type Stripe from 'stripe';
import type { SandboxStorage, StoredRow } from './storage/sandbox-storage';
import { StripeApiError } from './stripe/stripe-error';
import type { PaymentFailure, CardBrand } from './stripe/test-payment-methods';

/*
 * The sandbox's whole state: in memory as the working set, loaded from its storage at start and
 * written through to it (see `SandboxStore.flush`), so that it survives a restart. Records hold what
 * the sandbox needs, as plain JSON data; `stripe/stripe-objects.ts` turns them into the JSON Stripe
 * sends.
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
  metadata?: Record<string, string>;
}

/** Settings of a session that the sandbox keeps and shows as given (each at Stripe's default when absent). */
export interface CheckoutSessionSettings {
  locale: 'auto' | 'en' | null;
  submitType: 'auto' | 'pay' | null;
  billingAddressCollection: 'auto' | null;
  allowPromotionCodes: false | null;
  paymentMethodCollection: 'always' | 'if_required';
  /** `allowed_payment_method_types` as given (null: not given). */
  allowedPaymentMethodTypes: string[] | null;
  /** `payment_intent_data[receipt_email]`. */
  receiptEmail: string | null;
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
  /** The business name the page shows (`branding_settings.display_name`). */
  displayName: string;
  paymentMethodTypes: ('card' | 'link' | 'us_bank_account' | 'sepa_debit')[];
  /** Absent on sessions stored before these were kept: all defaults. */
  settings?: CheckoutSessionSettings;
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
  receiptEmail?: string | null;
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
  /** The PaymentIntent's `receipt_email`: a receipt is e-mailed there when the charge succeeds. */
  receiptEmail?: string | null;
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
  /** Stripe's own states, as the pinned SDK declares them. */
  status: Stripe.Dispute.Status;
  evidenceDueBy: number;
  evidenceSubmitted: boolean;
  balanceTransactionIds: string[];
}

/** `/v1/webhook_endpoints`: where events go, each endpoint with its own signing secret. */
export interface WebhookEndpointRecord {
  id: string;
  created: number;
  url: string;
  /** `whsec_…`: shown once, in the answer to its creation, as Stripe does. */
  secret: string;
  /** Event types it receives; `*` for all. */
  enabledEvents: string[];
  status: 'enabled' | 'disabled';
  description: string | null;
  metadata: Record<string, string>;
  apiVersion: string | null;
  /** The endpoint configured by SANDBOX_WEBHOOK_URL and the first STRIPE_WEBHOOK_SECRET (kept in step at each start). */
  configured: boolean;
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
  /** The webhook endpoint it goes to, and its URL when the event was sent. */
  endpointId: string;
  url: string;
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
  /** One per endpoint that listens to its type (and per chaos copy), made when it is sent. */
  deliveries: DeliveryRecord[];
  /** Handed to the dispatcher (its deliveries made); false while a chaos delay holds it. */
  dispatched?: boolean;
}

/** A job of the scheduler that survives a restart (see `SandboxScheduler.scheduleDurable`). */
export interface TimerRecord {
  id: string;
  /** The handler's name, e.g. `checkout.session.expire`. */
  type: string;
  args: Record<string, unknown>;
  /** When it falls due, in the scheduler's (possibly advanced) time, ms. */
  dueAt: number;
}

/** A saved idempotent result (see `api/idempotency.ts`); the id is the Idempotency-Key. */
export interface IdempotencyRecord {
  id: string;
  endpoint: string;
  fingerprint: string;
  statusCode: number;
  body: unknown;
  savedAt: number;
}

/** The test clock: how far the timers were fast-forwarded (`POST /_sandbox/clock/advance`). */
export interface ClockRecord {
  id: 'clock';
  advancedMs: number;
}

/** How a collection's records are kept, when that differs from the record itself. */
export interface RecordCodec<T> {
  toData(record: T): unknown;
  fromData(data: unknown): T;
}

/**
 * The records of one kind, by id: a Map in creation order whose changes the store writes through.
 *
 * A record is plain JSON data, changed in place. The store writes every record that was `set`,
 * fetched with `get`, or passed to `touch` since the last flush, if its JSON changed. So: change a
 * record you got with `get` (or just `set`), and `touch` one you hold by reference from elsewhere
 * (a timer's closure, another record). Iterating (`values()`) does not mark anything.
 */
export class Collection<T extends { id: string }> implements Iterable<T> {
  private readonly records = new Map<string, T>();

  constructor(
    readonly kind: string,
    private readonly store: SandboxStore,
    readonly codec?: RecordCodec<T>,
  ) {}

  get size(): number {
    return this.records.size;
  }

  has(id: string): boolean {
    return this.records.has(id);
  }

  /** The record, marked for the next flush (the caller may change it). */
  get(id: string): T | undefined {
    const record = this.records.get(id);
    if (record) this.store.markChanged(this, record);
    return record;
  }

  set(id: string, record: T): this {
    if (!this.records.has(id)) this.store.noteCreated(this, id);
    this.records.set(id, record);
    this.store.markChanged(this, record);
    return this;
  }

  /** Marks a record held by reference as changed. */
  touch(record: T): void {
    if (this.records.get(record.id) === record) this.store.markChanged(this, record);
  }

  delete(id: string): boolean {
    const had = this.records.delete(id);
    if (had) this.store.markDeleted(this, id);
    return had;
  }

  /** In creation order (oldest first); marks nothing. */
  values(): IterableIterator<T> {
    return this.records.values();
  }

  [Symbol.iterator](): IterableIterator<T> {
    return this.records.values();
  }

  /** @internal a record as loaded from storage. */
  loadRow(data: unknown): void {
    const record = this.codec ? this.codec.fromData(data) : (data as T);
    this.records.set(record.id, record);
  }

  /** @internal what is stored for a record. */
  dataOf(record: T): unknown {
    return this.codec ? this.codec.toData(record) : record;
  }

  /** @internal */
  clearMemory(): void {
    this.records.clear();
  }
}

/** Events are kept without their parsed copy (`json` is `body` parsed again at load). */
const eventCodec: RecordCodec<EventRecord> = {
  toData: ({ json: _json, ...rest }) => rest,
  fromData: (data) => {
    const record = data as Omit<EventRecord, 'json'>;
    return { ...record, json: JSON.parse(record.body) as Record<string, unknown> };
  },
};

/**
 * The sandbox's state: one collection per kind of object, written through to `SandboxStorage`.
 *
 * To make a new kind of object durable, add a collection here (`new Collection<MyRecord>('my_kind',
 * this)`), keep its records plain JSON (ids, strings, numbers; no class instances or functions) and
 * change them through `get`/`set`/`touch`. Whoever answers a request or finishes a job awaits
 * `flush()` first: the API router, the checkout page, the scheduler (after each job) and the webhook
 * dispatcher (after each attempt) already do.
 */
export class SandboxStore {
  private readonly logger = new Logger('StripeSandbox');
  private readonly collections = new Map<string, Collection<{ id: string }>>();

  readonly products = this.collection<ProductRecord>('product');
  readonly prices = this.collection<PriceRecord>('price');
  readonly sessions = this.collection<CheckoutSessionRecord>('checkout.session');
  readonly paymentIntents = this.collection<PaymentIntentRecord>('payment_intent');
  readonly charges = this.collection<ChargeRecord>('charge');
  readonly customers = this.collection<CustomerRecord>('customer');
  readonly paymentMethods = this.collection<PaymentMethodRecord>('payment_method');
  readonly refunds = this.collection<RefundRecord>('refund');
  readonly disputes = this.collection<DisputeRecord>('dispute');
  /** In creation order. */
  readonly events = this.collection<EventRecord>('event', eventCodec);
  readonly webhookEndpoints = this.collection<WebhookEndpointRecord>('webhook_endpoint');
  /** Pending jobs of the scheduler (expiries, settlements, webhook retries). */
  readonly timers = this.collection<TimerRecord>('timer');
  readonly idempotency = this.collection<IdempotencyRecord>('idempotency_key');
  readonly clock = this.collection<ClockRecord>('clock');

  /** Changed since the last flush: `kind\0id` → the record. */
  private changed = new Map<string, { collection: Collection<{ id: string }>; record: { id: string } }>();
  private deleted = new Map<string, { kind: string; id: string }>();
  /** The JSON last written per `kind\0id`, to skip records that did not change. */
  private readonly written = new Map<string, string>();
  private afterFlush: (() => void)[] = [];
  private flushing: Promise<void> = Promise.resolve();
  private closed = false;

  constructor(private readonly storage: SandboxStorage) {}

  /** Declares a collection (kinds are unique; the kind is what storage rows are filed under). */
  collection<T extends { id: string }>(kind: string, codec?: RecordCodec<T>): Collection<T> {
    if (this.collections.has(kind)) throw new Error(`Sandbox collection ${kind} is declared twice`);
    const collection = new Collection<T>(kind, this, codec);
    this.collections.set(kind, collection);
    return collection;
  }

  /** Fills the collections from storage (at start). Rows of a kind no collection declares are kept as they are. */
  async load(): Promise<number> {
    const rows = await this.storage.load();
    for (const row of rows) {
      const collection = this.collections.get(row.kind);
      if (!collection) continue;
      collection.loadRow(row.data);
      this.written.set(`${row.kind}\0${row.id}`, JSON.stringify(row.data));
    }
    return rows.length;
  }

  private creationLog: [Collection<{ id: string }>, string][] | null = null;

  /**
   * Runs `work` (synchronously); if it throws, the records it created are removed again, so that a
   * request refused halfway (a bad parameter after an inline product was made) leaves nothing. An
   * API error that is not a refusal of the request (a card declined by `confirm`: the PaymentIntent,
   * its failed charge and their events stay, as at Stripe) keeps what the work did.
   */
  undoCreationsOnError<T>(work: () => T): T {
    const outer = this.creationLog;
    const log: [Collection<{ id: string }>, string][] = [];
    this.creationLog = log;
    try {
      return work();
    } catch (error) {
      const ran = error instanceof StripeApiError && !error.validation;
      if (!ran) for (const [collection, id] of log.reverse()) collection.delete(id);
      throw error;
    } finally {
      this.creationLog = outer;
      outer?.push(...log);
    }
  }

  /** @internal */
  noteCreated(collection: Collection<{ id: string }>, id: string): void {
    this.creationLog?.push([collection, id]);
  }

  /** @internal */
  markChanged(collection: Collection<{ id: string }>, record: { id: string }): void {
    const key = `${collection.kind}\0${record.id}`;
    this.deleted.delete(key);
    this.changed.set(key, { collection, record });
  }

  /** @internal */
  markDeleted(collection: Collection<{ id: string }>, id: string): void {
    const key = `${collection.kind}\0${id}`;
    this.changed.delete(key);
    this.deleted.set(key, { kind: collection.kind, id });
  }

  /** Runs `callback` once the changes made so far are stored (e.g. sending the events they contain). */
  afterNextFlush(callback: () => void): void {
    this.afterFlush.push(callback);
  }

  /**
   * Writes every changed record to storage, in one write, then runs the `afterNextFlush` callbacks.
   * Flushes run one after the other; a failed write keeps the changes for the next flush and throws.
   */
  flush(): Promise<void> {
    const run = this.flushing.then(() => this.writeChanges());
    this.flushing = run.catch(() => undefined);
    return run;
  }

  /** Forgets everything in memory and stops writing (the store of a stopped or reset sandbox). */
  close(): void {
    this.closed = true;
    this.changed.clear();
    this.deleted.clear();
    this.afterFlush = [];
  }

  private async writeChanges(): Promise<void> {
    if (this.closed) return;
    const changed = [...this.changed];
    const deleted = [...this.deleted];
    const callbacks = this.afterFlush;
    this.changed = new Map();
    this.deleted = new Map();
    this.afterFlush = [];
    const rows: StoredRow[] = [];
    const json = new Map<string, string>();
    for (const [key, { collection, record }] of changed) {
      const data = collection.dataOf(record);
      const text = JSON.stringify(data);
      if (this.written.get(key) === text) continue;
      json.set(key, text);
      rows.push({ kind: collection.kind, id: record.id, data, json: text });
    }
    try {
      await this.storage.write(
        rows,
        deleted.map(([, row]) => row),
      );
    } catch (error) {
      // Keep what was not written for the next flush (unless it changed again meanwhile).
      for (const [key, entry] of changed) if (!this.changed.has(key)) this.changed.set(key, entry);
      for (const [key, row] of deleted) if (!this.changed.has(key)) this.deleted.set(key, row);
      this.afterFlush.unshift(...callbacks);
      this.logger.error(`Sandbox storage write failed: ${(error as Error).message}`);
      throw error;
    }
    for (const [key, text] of json) this.written.set(key, text);
    for (const [key] of deleted) this.written.delete(key);
    for (const callback of callbacks) callback();
  }
}
