import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const FIXTURES = join(__dirname, '..', 'fixtures', 'stripe-events');

type Fixture =
  | 'checkout.session.completed.paid'
  | 'checkout.session.completed.unpaid'
  | 'checkout.session.expired'
  | 'payment_intent.payment_failed';

export interface EventOptions {
  orderId: string;
  sessionId: string;
  amount: number;
  currency?: string;
  /** A new id by default: each call is a distinct event. */
  eventId?: string;
  /** Overrides the envelope's type (e.g. an async_payment_* event reusing a session body). */
  type?: string;
  paymentStatus?: 'paid' | 'unpaid';
  paymentIntentId?: string;
  /** The envelope's `created`, unix seconds; now by default, as for an event Stripe sends now. */
  created?: number;
  /** Our checkout attempt, as we tag sessions and their payments (`metadata.attemptId`). */
  attemptId?: string;
  /** The envelope's `livemode` (false, as in test mode, by default). */
  livemode?: boolean;
  /** For declines: Stripe's error code, decline code and message. */
  decline?: { code: string; declineCode: string; message: string };
}

export const newEventId = () => `evt_test_${randomBytes(12).toString('hex')}`;

/** The body Stripe would send: a real captured event with our order, session and amount filled in. */
export function stripeEvent(fixture: Fixture, options: EventOptions): string {
  const raw = readFileSync(join(FIXTURES, `${fixture}.json`), 'utf8')
    .replace(/"__AMOUNT__"/g, String(options.amount))
    .replace(/__ORDER_ID__/g, options.orderId)
    .replace(/__SESSION_ID__/g, options.sessionId);
  const event = JSON.parse(raw) as {
    id: string;
    type: string;
    created: number;
    livemode: boolean;
    data: { object: Record<string, unknown> };
  };
  const object = event.data.object;
  event.id = options.eventId ?? newEventId();
  if (options.type) event.type = options.type;
  event.created = options.created ?? Math.floor(Date.now() / 1000);
  if (options.livemode !== undefined) event.livemode = options.livemode;
  if (options.attemptId) object.metadata = { ...(object.metadata as object), attemptId: options.attemptId };
  if (options.currency) object.currency = options.currency;
  if (options.paymentStatus) object.payment_status = options.paymentStatus;
  if (options.paymentIntentId) {
    if (object.object === 'payment_intent') object.id = options.paymentIntentId;
    else object.payment_intent = options.paymentIntentId;
  }
  if (options.decline) {
    const error = object.last_payment_error as Record<string, unknown>;
    error.code = options.decline.code;
    error.decline_code = options.decline.declineCode;
    error.message = options.decline.message;
  }
  return JSON.stringify(event, null, 2);
}
