import { randomUUID } from 'node:crypto';
import { randomByte } from '../../shared/random-bytes';

const ALPHANUMERIC = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/** `length` random letters and digits (uniform: 62 × 4 = 248 < 256, bytes above are dropped). */
export function alphanumeric(length: number): string {
  let out = '';
  while (out.length < length) {
    const byte = randomByte();
    if (byte < 248) out += ALPHANUMERIC[byte % 62];
  }
  return out;
}

/** Ids in Stripe's formats (test mode). */
export const newId = {
  checkoutSession: () => `cs_test_${alphanumeric(58)}`,
  paymentIntent: () => `pi_${alphanumeric(24)}`,
  charge: () => `ch_${alphanumeric(24)}`,
  paymentMethod: () => `pm_${alphanumeric(24)}`,
  balanceTransaction: () => `txn_${alphanumeric(24)}`,
  event: () => `evt_${alphanumeric(24)}`,
  product: () => `prod_${alphanumeric(14)}`,
  price: () => `price_${alphanumeric(24)}`,
  lineItem: () => `li_${alphanumeric(24)}`,
  webhookEndpoint: () => `we_${alphanumeric(24)}`,
  webhookSecret: () => `whsec_${alphanumeric(32)}`,
  request: () => `req_${alphanumeric(14)}`,
  customer: () => `cus_${alphanumeric(14)}`,
  refund: () => `re_${alphanumeric(24)}`,
  dispute: () => `du_${alphanumeric(24)}`,
  cliSession: () => `cliws_${alphanumeric(24)}`,
  webhookConversation: () => `wc_${alphanumeric(24)}`,
  /** The sandbox's own (a stored timer), not a Stripe id. */
  timer: () => `tmr_${alphanumeric(16)}`,
  clientSecret: (paymentIntentId: string) => `${paymentIntentId}_secret_${alphanumeric(25)}`,
  fingerprint: () => alphanumeric(16),
  uuid: () => randomUUID(),
};
