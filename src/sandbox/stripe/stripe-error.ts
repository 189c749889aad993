/** The body Stripe answers an error with: `{ error: { type, code, message, param, ... } }`. */
export interface StripeErrorBody {
  type: 'invalid_request_error' | 'idempotency_error' | 'card_error' | 'api_error';
  message: string;
  code?: string;
  param?: string;
  decline_code?: string;
  advice_code?: string;
  doc_url?: string;
  /** A declined payment: the failed charge, and the PaymentIntent and payment method as they are now. */
  charge?: string;
  payment_intent?: object;
  payment_method?: object;
}

/**
 * An API error as Stripe reports it. `validation` marks a request refused before anything ran:
 * Stripe keeps no idempotent result for those, so the same key may be used again.
 */
export class StripeApiError extends Error {
  constructor(
    readonly statusCode: number,
    readonly body: StripeErrorBody,
    readonly validation = false,
  ) {
    super(body.message);
  }

  toJSON(): { error: StripeErrorBody } {
    return { error: this.body };
  }
}

function docUrl(code: string): string {
  return `https://stripe.com/docs/error-codes/${code.replace(/_/g, '-')}`;
}

/** Parameter errors (400, `invalid_request_error`), worded as Stripe words them. */
export const paramError = {
  missing: (param: string) =>
    new StripeApiError(
      400,
      {
        type: 'invalid_request_error',
        code: 'parameter_missing',
        doc_url: docUrl('parameter_missing'),
        message: `Missing required param: ${param}.`,
        param,
      },
      true,
    ),
  unknown: (param: string) =>
    new StripeApiError(
      400,
      {
        type: 'invalid_request_error',
        code: 'parameter_unknown',
        doc_url: docUrl('parameter_unknown'),
        message: `Received unknown parameter: ${param}`,
        param,
      },
      true,
    ),
  invalidInteger: (param: string, value: unknown) =>
    new StripeApiError(
      400,
      {
        type: 'invalid_request_error',
        code: 'parameter_invalid_integer',
        doc_url: docUrl('parameter_invalid_integer'),
        message: `Invalid integer: ${String(value)}`,
        param,
      },
      true,
    ),
  /** A parameter (or value) Stripe accepts and the sandbox does not model: refused, never ignored. */
  unsupported: (param: string, why?: string) =>
    new StripeApiError(
      400,
      {
        type: 'invalid_request_error',
        message: `${param} is not supported by the sandbox${why ? `: ${why}` : ''}.`,
        param: param.split('=')[0],
      },
      true,
    ),
  invalid: (param: string, message: string, code?: string) =>
    new StripeApiError(
      400,
      {
        type: 'invalid_request_error',
        ...(code ? { code, doc_url: docUrl(code) } : {}),
        message,
        param,
      },
      true,
    ),
};

/** `No such checkout.session: 'cs_test_…'` (404 on a path id; 400 for an id given as a parameter). */
export function resourceMissing(kind: string, id: string, param: string, statusCode = 404): StripeApiError {
  return new StripeApiError(
    statusCode,
    {
      type: 'invalid_request_error',
      code: 'resource_missing',
      doc_url: docUrl('resource_missing'),
      message: `No such ${kind}: '${id}'`,
      param,
    },
    statusCode === 400,
  );
}

/** A request that is well-formed but not allowed in the object's current state. */
export function invalidState(message: string): StripeApiError {
  return new StripeApiError(400, { type: 'invalid_request_error', message });
}
