import { createHmac, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { SeededOrder } from './database';

/** The secret the service, the floor and the load generator share. */
export const BENCH_WEBHOOK_SECRET = 'whsec_bench_0123456789abcdef0123456789abcdef';

const FIXTURE = join(
  __dirname,
  '..',
  'test',
  'fixtures',
  'stripe-events',
  'checkout.session.completed.paid.json',
);

/** A webhook to deliver: its id and exact body (a retry sends the same ones, signed anew). */
export interface WebhookEvent {
  id: string;
  orderId: string;
  body: string;
}

/**
 * Builds `checkout.session.completed` (`payment_status: paid`) bodies from a real captured event
 * (every field Stripe sends, about 5 KB, pretty-printed as Stripe sends it), one per order.
 */
export function completedEvents(orders: readonly SeededOrder[]): WebhookEvent[] {
  const event = JSON.parse(readFileSync(FIXTURE, 'utf8')) as {
    id: string;
    created: number | string;
    data: { object: Record<string, unknown> };
  };
  event.id = '__EVENT_ID__';
  event.created = '__CREATED__';
  Object.assign(event.data.object, { currency: '__CURRENCY__', payment_intent: '__PAYMENT_INTENT__' });
  // Placeholders filled by plain replacement: building 50,000 bodies takes a moment, not a minute.
  const template = JSON.stringify(event, null, 2);
  const run = randomBytes(4).toString('hex');
  const created = String(Math.floor(Date.now() / 1000));
  return orders.map((order, index) => {
    const id = `evt_bench${run}${String(index).padStart(7, '0')}`;
    const body = template
      .replace(/"__AMOUNT__"/g, String(order.amount))
      .replace('"__CREATED__"', created)
      .replace('__EVENT_ID__', id)
      .replace(/__ORDER_ID__/g, order.id)
      .replace(/__SESSION_ID__/g, order.sessionId)
      .replace('__CURRENCY__', order.currency)
      .replace('__PAYMENT_INTENT__', order.paymentIntentId);
    return { id, orderId: order.id, body };
  });
}

/** `Stripe-Signature` for `body` now: `t=<seconds>,v1=<HMAC-SHA256 of "<t>.<body>">`, as Stripe signs. */
export function sign(body: string, secret = BENCH_WEBHOOK_SECRET): string {
  const t = Math.floor(Date.now() / 1000);
  return `t=${t},v1=${createHmac('sha256', secret).update(`${t}.${body}`, 'utf8').digest('hex')}`;
}
