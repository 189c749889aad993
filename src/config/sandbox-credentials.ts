/**
 * Fixed credentials of the offline sandbox. They are public (they are in this repository), so they
 * only ever unlock our own emulator: Stripe mode refuses them.
 */
export const SANDBOX_SECRET_KEY = 'sk_test_sandbox_51OfflineOrderFlow';
export const SANDBOX_WEBHOOK_SECRET = 'whsec_sandbox_offline_order_flow_0000000000';
