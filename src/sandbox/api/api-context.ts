import type { Request } from 'express';
import type { ParamReader } from './form-params';

/** What every handler of the sandbox's Stripe API is given about its request, read once by the router. */
export interface ApiContext {
  params: ParamReader;
  requestId: string;
  idempotencyKey: string | null;
  /** The request's `Stripe-Version` (checked), or the account's default (`ACCOUNT_API_VERSION`). */
  apiVersion: string;
}

/** One route of the sandbox's Stripe API: its answer (a Stripe object), or a thrown `StripeApiError`. */
export type Handler = (context: ApiContext, req: Request) => unknown;
