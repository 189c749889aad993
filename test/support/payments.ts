import request from 'supertest';
import type { TestApp } from './app';
import type { PlacedOrderBody } from './factories';
import { ROTATED_SECRET, signWithStripe, WEBHOOK_SECRET } from './stripe-signature';
import type { StripeStub } from './stripe-stub';

/** Configuration that points the real Stripe adapter at a local stub instead of the sandbox. */
export function stubStripeEnv(stub: StripeStub): Record<string, string> {
  return {
    STRIPE_SECRET_KEY: 'sk_test_stub_51TestKey',
    STRIPE_WEBHOOK_SECRET: `${WEBHOOK_SECRET},${ROTATED_SECRET}`,
    STRIPE_API_HOST: '127.0.0.1',
    STRIPE_API_PORT: String(stub.port),
    STRIPE_API_PROTOCOL: 'http',
    STRIPE_TIMEOUT_MS: '1000',
  };
}

export interface CheckoutBody {
  sessionId: string;
  url: string;
  expiresAt: string;
}

export async function startCheckout(
  t: TestApp,
  order: PlacedOrderBody,
  expected = 201,
): Promise<CheckoutBody> {
  const response = await request(t.http())
    .post(`/api/orders/${order.id}/checkout`)
    .set('Authorization', `Bearer ${order.accessToken}`)
    .expect(expected);
  return response.body as CheckoutBody;
}

/** POSTs a webhook body exactly as given, signed (by default) with the primary secret. */
export function deliver(t: TestApp, body: string, signature: string | null = signWithStripe(body)) {
  const call = request(t.http()).post('/api/webhooks/stripe').set('Content-Type', 'application/json');
  if (signature !== null) call.set('Stripe-Signature', signature);
  return call.send(body);
}

export interface OrderRow {
  status: string;
  status_reason: string | null;
  needs_review: boolean;
  review_reason: string | null;
}

export async function orderRow(t: TestApp, orderId: string): Promise<OrderRow> {
  const [row] = await t
    .em()
    .getConnection()
    .execute<OrderRow[]>(
      'select status, status_reason, needs_review, review_reason from orders where id = ?',
      [orderId],
    );
  return row;
}

export interface HistoryRow {
  from_status: string | null;
  to_status: string;
  reason: string;
  source_kind: string;
  source_ref: string | null;
}

/** The order's transaction log, oldest first. */
export function historyRows(t: TestApp, orderId: string): Promise<HistoryRow[]> {
  return t
    .em()
    .getConnection()
    .execute<HistoryRow[]>(
      'select from_status, to_status, reason, source_kind, source_ref from order_history where order_id = ? order by id',
      [orderId],
    );
}

/** Transitions only (rows whose status changed), as `from→to`. */
export async function transitions(t: TestApp, orderId: string): Promise<string[]> {
  return (await historyRows(t, orderId))
    .filter((row) => row.from_status !== row.to_status)
    .map((row) => `${row.from_status ?? '∅'}→${row.to_status}`);
}

export interface LedgerRow {
  id: string;
  type: string;
  outcome: string | null;
  order_id: string | null;
  detail: string | null;
  deliveries: number;
}

export async function ledgerRow(t: TestApp, eventId: string): Promise<LedgerRow | undefined> {
  const [row] = await t
    .em()
    .getConnection()
    .execute<LedgerRow[]>('select * from processed_webhook_events where id = ?', [eventId]);
  return row;
}
