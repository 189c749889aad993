/**
 * The sandbox account's default API version: what a request that names no `Stripe-Version` is read
 * with, as Stripe reads it with the account's default. The stripe SDK names its pinned version
 * (`2026-10-28.endive`) on every request; the Stripe CLI names none, and its fixtures are written
 * for this one (they send `payment_method_types`, which 2026-09-30.endive replaced). Like an account
 * opened before endive and never upgraded. Objects and events are rendered in the pinned version.
 */
export const ACCOUNT_API_VERSION = '2026-08-26.dahlia';
