import type { Request, RequestHandler, Router } from 'express';
import type { CheckoutService } from '../checkout/checkout.service';
import type { DisputesService } from '../charges/disputes.service';
import type { PaymentsService } from '../charges/payments.service';
import type { RefundsService } from '../charges/refunds.service';
import type { SandboxScheduler } from '../sandbox.scheduler';
import type { PaymentIntentRecord, SandboxStore } from '../sandbox.store';
import { paramError, resourceMissing, StripeApiError } from '../stripe/stripe-error';
import { disputeJson, refundJson } from '../stripe/refund-dispute-objects';
import {
  checkoutSessionJson,
  customerJson,
  listJson,
  paymentIntentJson,
  paymentMethodJson,
} from '../stripe/stripe-objects';
import type { ApiContext, Handler } from './api-context';
import type { ParamReader } from './form-params';
import {
  allowParams,
  readExpandNone,
  readNewCustomer,
  readNewPaymentIntent,
  readNewPaymentMethod,
  readNewRefund,
  readPaymentMethod,
} from './payments.params';

type Route = (operation: string, handler: Handler) => RequestHandler;
type Paginate = <T extends { id: string }>(
  items: T[],
  params: ParamReader,
) => { items: T[]; hasMore: boolean };

const CANCELLATION_REASONS = ['abandoned', 'duplicate', 'fraudulent', 'requested_by_customer'] as const;

/**
 * PaymentIntents, payment methods, customers, refunds and disputes (`/v1/…`), and the Stripe CLI's
 * Checkout confirmation step (`/v1/payment_pages/:id`, `/confirm`).
 */
export function paymentRoutes(
  router: Router,
  route: Route,
  paginate: Paginate,
  deps: {
    store: SandboxStore;
    scheduler: SandboxScheduler;
    checkout: CheckoutService;
    payments: PaymentsService;
    refunds: RefundsService;
    disputes: DisputesService;
  },
): void {
  const { store, scheduler, checkout, payments, refunds, disputes } = deps;
  const request = ({ requestId, idempotencyKey }: ApiContext) => ({
    id: requestId,
    idempotency_key: idempotencyKey,
  });
  const intentOr404 = (id: string): PaymentIntentRecord => {
    const intent = store.paymentIntents.get(id);
    if (!intent) throw resourceMissing('payment_intent', id, 'intent');
    return intent;
  };
  const list = <T extends { id: string }, J>(
    req: Request,
    params: ParamReader,
    items: T[],
    json: (item: T) => J,
  ) => {
    const page = paginate(items, params);
    return listJson(`/v1${req.path}`, page.items.map(json), page.hasMore);
  };

  // --- Customers
  router.post(
    '/customers',
    route('customers.create', (context) =>
      customerJson(payments.createCustomer(readNewCustomer(context.params), request(context))),
    ),
  );
  router.get(
    '/customers/:id',
    route('customers.retrieve', ({ params }, req) => {
      allowParams(params, ['expand'], []);
      readExpandNone(params);
      const customer = store.customers.get(String(req.params.id));
      if (!customer) throw resourceMissing('customer', String(req.params.id), 'id');
      return customerJson(customer);
    }),
  );
  router.get(
    '/customers',
    route('customers.list', ({ params }, req) => {
      allowParams(
        params,
        ['email', 'limit', 'starting_after', 'ending_before'],
        ['created', 'test_clock', 'expand'],
      );
      const email = params.string('email');
      const customers = [...store.customers.values()].filter((c) => email === undefined || c.email === email);
      return list(req, params, customers.reverse(), customerJson);
    }),
  );

  // --- Payment methods
  router.post(
    '/payment_methods',
    route('paymentMethods.create', ({ params }) => {
      const method = payments.savePaymentMethod(readNewPaymentMethod(params, scheduler.unixNow()));
      return paymentMethodJson(method);
    }),
  );
  router.get(
    '/payment_methods/:id',
    route('paymentMethods.retrieve', ({ params }, req) => {
      allowParams(params, ['expand'], []);
      readExpandNone(params);
      const method = store.paymentMethods.get(String(req.params.id));
      if (!method) throw resourceMissing('payment_method', String(req.params.id), 'payment_method');
      return paymentMethodJson(method);
    }),
  );

  // --- PaymentIntents
  router.post(
    '/payment_intents',
    route('paymentIntents.create', (context) => {
      const input = readNewPaymentIntent(store, context.params, context.apiVersion, scheduler.unixNow());
      return paymentIntentJson(payments.create(input, request(context)));
    }),
  );
  router.get(
    '/payment_intents',
    route('paymentIntents.list', ({ params }, req) => {
      allowParams(params, ['customer', 'limit', 'starting_after', 'ending_before'], ['created', 'expand']);
      const customer = params.string('customer');
      const intents = [...store.paymentIntents.values()].filter(
        (i) => customer === undefined || i.customerId === customer,
      );
      return list(req, params, intents.reverse(), paymentIntentJson);
    }),
  );
  router.post(
    '/payment_intents/:id/confirm',
    route('paymentIntents.confirm', (context, req) => {
      const { params } = context;
      allowParams(
        params,
        ['payment_method', 'expand'],
        ['capture_method', 'confirmation_token', 'error_on_requires_action', 'mandate', 'mandate_data', 'off_session',
          'payment_method_data', 'payment_method_options', 'radar_options', 'receipt_email', 'return_url',
          'setup_future_usage', 'shipping', 'use_stripe_sdk'], // prettier-ignore
      );
      readExpandNone(params);
      const intent = intentOr404(String(req.params.id));
      const method = readPaymentMethod(store, params, 'payment_method', scheduler.unixNow());
      return paymentIntentJson(payments.confirm(intent, method?.id ?? null, request(context)));
    }),
  );
  router.post(
    '/payment_intents/:id/capture',
    route('paymentIntents.capture', (context, req) => {
      const { params } = context;
      allowParams(
        params,
        ['amount_to_capture', 'expand'],
        ['amount_details', 'application_fee_amount', 'final_capture', 'hooks', 'metadata', 'payment_details',
          'statement_descriptor', 'statement_descriptor_suffix', 'transfer_data'], // prettier-ignore
      );
      readExpandNone(params);
      const amount = params.integer('amount_to_capture', { min: 1, max: 99_999_999 });
      return paymentIntentJson(
        payments.capture(intentOr404(String(req.params.id)), amount, request(context)),
      );
    }),
  );
  router.post(
    '/payment_intents/:id/cancel',
    route('paymentIntents.cancel', (context, req) => {
      const { params } = context;
      allowParams(params, ['cancellation_reason', 'expand'], []);
      readExpandNone(params);
      const given = params.string('cancellation_reason');
      const reason = given === undefined ? null : CANCELLATION_REASONS.find((r) => r === given);
      if (reason === undefined) {
        throw paramError.invalid(
          'cancellation_reason',
          `Invalid cancellation_reason: must be one of ${CANCELLATION_REASONS.join(', ')}`,
        );
      }
      return paymentIntentJson(payments.cancel(intentOr404(String(req.params.id)), reason, request(context)));
    }),
  );

  // --- Refunds
  router.post(
    '/refunds',
    route('refunds.create', (context) =>
      refundJson(refunds.create(readNewRefund(store, context.params), request(context))),
    ),
  );
  router.get(
    '/refunds/:id',
    route('refunds.retrieve', ({ params }, req) => {
      allowParams(params, ['expand'], []);
      readExpandNone(params);
      const refund = refunds.get(String(req.params.id));
      if (!refund) throw resourceMissing('refund', String(req.params.id), 'refund');
      return refundJson(refund);
    }),
  );
  router.get(
    '/refunds',
    route('refunds.list', ({ params }, req) => {
      allowParams(
        params,
        ['charge', 'payment_intent', 'limit', 'starting_after', 'ending_before'],
        ['created', 'expand'],
      );
      const found = refunds.list({
        chargeId: params.string('charge'),
        paymentIntentId: params.string('payment_intent'),
      });
      return list(req, params, found, refundJson);
    }),
  );

  // --- Disputes (opened by the dispute test cards, closed by `POST /_sandbox/disputes/:id/close`)
  router.get(
    '/disputes/:id',
    route('disputes.retrieve', ({ params }, req) => {
      allowParams(params, ['expand'], []);
      readExpandNone(params);
      const dispute = disputes.get(String(req.params.id));
      if (!dispute) throw resourceMissing('dispute', String(req.params.id), 'dispute');
      return disputeJson(dispute);
    }),
  );
  router.get(
    '/disputes',
    route('disputes.list', ({ params }, req) => {
      allowParams(
        params,
        ['charge', 'payment_intent', 'limit', 'starting_after', 'ending_before'],
        ['created', 'expand'],
      );
      const found = disputes.list({
        chargeId: params.string('charge'),
        paymentIntentId: params.string('payment_intent'),
      });
      return list(req, params, found, disputeJson);
    }),
  );

  // --- The Stripe CLI's Checkout confirmation step. Stripe's hosted page calls these with its
  // publishable key; the CLI's fixtures call them with the secret key. The sandbox answers with the
  // Checkout Session itself.
  const sessionOr404 = (id: string) => {
    const session = checkout.get(id);
    if (!session) throw resourceMissing('checkout.session', id, 'session');
    return session;
  };
  router.get(
    '/payment_pages/:id',
    route('paymentPages.retrieve', ({ params }, req) => {
      allowParams(params, [], []);
      return checkoutSessionJson(sessionOr404(String(req.params.id)));
    }),
  );
  router.post(
    '/payment_pages/:id/confirm',
    route('paymentPages.confirm', ({ params }, req) => {
      allowParams(
        params,
        ['payment_method', 'expected_amount'],
        ['expected_payment_method_type', 'consent', 'tax_id_collection'],
      );
      const session = sessionOr404(String(req.params.id));
      const method = readPaymentMethod(store, params, 'payment_method', scheduler.unixNow());
      if (!method) throw paramError.missing('payment_method');
      const expected = params.integer('expected_amount', { min: 0 });
      const outcome = checkout.payWithPaymentMethod(session, method, expected);
      if (outcome.kind === 'declined') {
        const { failure } = outcome;
        throw new StripeApiError(402, {
          type: 'card_error',
          code: failure.code,
          ...(failure.declineCode ? { decline_code: failure.declineCode } : {}),
          message: failure.message,
        });
      }
      return checkoutSessionJson(session);
    }),
  );
}
