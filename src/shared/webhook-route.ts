/**
 * Stripe's webhook route (payments' `StripeWebhookController`), the service's busiest, served by the
 * HTTP server ahead of Express (`configureApp`, `serveAhead`). Its body is
 * read raw, as signed, and parsed once by the intake after the signature holds; a delivery that
 * succeeds is logged once, by the intake (with the request id), not again by the request log; it
 * gets no MikroORM request context per request (the intake opens one where it uses the unit of
 * work). `path` under the global `/api` prefix, `url` as requested.
 */
export const STRIPE_WEBHOOK_ROUTE = { path: 'webhooks/stripe', url: '/api/webhooks/stripe' } as const;
