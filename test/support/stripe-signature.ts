import { createHmac } from 'node:crypto';
import Stripe from 'stripe';

export const WEBHOOK_SECRET = 'whsec_test_primary_0123456789abcdef';
export const ROTATED_SECRET = 'whsec_test_rotated_fedcba9876543210';

/** A Stripe-Signature header made by stripe-node's own test helper. */
export function signWithStripe(payload: string, secret = WEBHOOK_SECRET, timestamp?: number): string {
  return Stripe.webhooks.generateTestHeaderString({ payload, secret, timestamp });
}

/**
 * A Stripe-Signature header computed independently of stripe-node, from Stripe's documented scheme:
 * `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<payload>" keyed by the whole whsec_ string>`, one
 * `v1` per secret (as during a rotation).
 */
export function signWithHmac(
  payload: string,
  secrets: string[] = [WEBHOOK_SECRET],
  timestamp = Math.floor(Date.now() / 1000),
): string {
  const signatures = secrets.map(
    (secret) => `v1=${createHmac('sha256', secret).update(`${timestamp}.${payload}`, 'utf8').digest('hex')}`,
  );
  return [`t=${timestamp}`, ...signatures].join(',');
}
