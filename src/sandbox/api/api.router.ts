import { Logger } from '@nestjs/common';
import express, { type Request, type Response, Router } from 'express';
import type { CheckoutService } from '../checkout/checkout.service';
import type { SandboxScheduler } from '../sandbox.scheduler';
import type { CheckoutSessionRecord, SandboxStore, WebhookEndpointRecord } from '../sandbox.store';
import {
  createWebhookEndpoint,
  updateWebhookEndpoint,
  webhookEndpointJson,
} from '../webhooks/webhook-endpoints';
import { paramError, resourceMissing, StripeApiError, type StripeErrorBody } from '../stripe/stripe-error';
import { API_VERSIONS } from '../stripe/event-types';
import { newId } from '../stripe/stripe-ids';
import { ACCOUNT_API_VERSION } from '../stripe/account-version';
import {
  chargeJson,
  checkoutSessionJson,
  lineItemJson,
  listJson,
  paymentIntentJson,
  paymentMethodJson,
  priceJson,
  productJson,
} from '../stripe/stripe-objects';
import { createPrice, createProduct } from './catalog.params';
import { readExpand, readNewCheckoutSession, SESSION_EXPANSIONS } from './checkout-session.params';
import { fingerprint, type FormObject, ParamReader, parseStripeForm } from './form-params';
import { type FaultSwitches, HANG_LIMIT_MS } from './faults';
import { readCreatedFilter, readDeliverySuccessFilter, readEventTypeFilter } from './list-filters';
import type { Handler } from './api-context';
import type { IdempotencyStore } from './idempotency';
import { paymentRoutes } from './payments.router';
import { stripeCliRoutes } from '../cli/stripe-cli.routes';
import type { StripeCliHub } from '../cli/stripe-cli.hub';
import type { EventLog } from '../sandbox.events';
import type { PaymentsService } from '../charges/payments.service';
import type { RefundsService } from '../charges/refunds.service';
import type { DisputesService } from '../charges/disputes.service';

const KNOWN_API_VERSIONS = new Set(API_VERSIONS);

const NO_API_KEY =
  "You did not provide an API key. You need to provide your API key in the Authorization header, using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY'). " +
  'See https://stripe.com/docs/api#authentication for details, or we can help at https://support.stripe.com/.';

/** `sk_test_sandbox_51OfflineOrderFlow` → `sk_test_**********************Flow`, as Stripe masks keys. */
function maskKey(key: string): string {
  if (key.length <= 12) return key.replace(/./g, '*');
  return `${key.slice(0, 8)}${'*'.repeat(key.length - 12)}${key.slice(-4)}`;
}

/** The API key of a request: `Authorization: Bearer <key>`, or Basic auth with the key as user. */
function apiKeyOf(req: Request): string | undefined {
  const header = req.get('authorization') ?? '';
  const bearer = /^Bearer\s+(\S+)\s*$/i.exec(header);
  if (bearer) return bearer[1];
  const basic = /^Basic\s+(\S+)\s*$/i.exec(header);
  if (basic) return Buffer.from(basic[1], 'base64').toString('utf8').split(':')[0] || undefined;
  return undefined;
}

/**
 * Stripe's API (mounted at `/v1`), the part the service and the Stripe CLI use: form-encoded requests, a
 * secret key required, Stripe's error bodies, and idempotent POSTs.
 */
export function apiRouter(deps: {
  secretKey: string;
  store: SandboxStore;
  scheduler: SandboxScheduler;
  checkout: CheckoutService;
  idempotency: IdempotencyStore;
  faults: FaultSwitches;
  events: EventLog;
  payments: PaymentsService;
  refunds: RefundsService;
  disputes: DisputesService;
  stripeCli: StripeCliHub;
}): Router {
  const { store, scheduler, checkout, idempotency, faults, events } = deps;
  const logger = new Logger('StripeSandbox');
  const router = Router();

  router.use(express.text({ type: () => true, limit: '1mb' }));
  router.use((req, res, next) => {
    res.set('Request-Id', newId.request());
    const key = apiKeyOf(req);
    if (!key) {
      res.set('WWW-Authenticate', 'Bearer realm="Stripe"');
      res.status(401).json({ error: { message: NO_API_KEY, type: 'invalid_request_error' } });
      return;
    }
    if (key !== deps.secretKey) {
      res.status(401).json({
        error: { message: `Invalid API Key provided: ${maskKey(key)}`, type: 'invalid_request_error' },
      });
      return;
    }
    // Stripe-Version: any version Stripe published (up to the pinned SDK's); absent: the account's
    // default (ACCOUNT_API_VERSION). Objects are always rendered in the pinned version.
    const version = req.get('stripe-version');
    if (version !== undefined && !KNOWN_API_VERSIONS.has(version)) {
      res.status(400).json({
        error: { message: `Invalid Stripe API version: ${version}`, type: 'invalid_request_error' },
      });
      return;
    }
    res.locals.apiVersion = version ?? ACCOUNT_API_VERSION;
    res.set('Stripe-Version', version ?? ACCOUNT_API_VERSION);
    next();
  });

  /**
   * Declares one API operation (named as the stripe SDK names it, for the fault switches) and runs
   * its handler: POSTs with an `Idempotency-Key` are saved and replayed as Stripe does, and a fault
   * switched on for the operation applies (see `faults.ts`).
   */
  const route = (operation: string, handler: Handler) => {
    faults.register(operation);
    return (req: Request, res: Response): void => {
      void runRoute(operation, handler, req, res);
    };
  };

  const runRoute = async (operation: string, handler: Handler, req: Request, res: Response) => {
    const requestId = res.get('Request-Id')!;
    const idempotencyKey = req.method === 'POST' ? (req.get('idempotency-key') ?? null) : null;
    let holdsKey = false;
    try {
      const raw =
        req.method === 'GET' || req.method === 'DELETE'
          ? (req.originalUrl.split('?')[1] ?? '')
          : typeof req.body === 'string'
            ? req.body
            : '';
      const values: FormObject = parseStripeForm(raw);
      const endpoint = `${req.method} ${req.baseUrl}${req.path}`;
      const print = fingerprint(values);
      // A request lost on the network never reaches Stripe, not even its idempotency layer.
      if (faults.peek(operation)?.fault === 'timeout') {
        faults.take(operation);
        logger.warn(`Sandbox fault: ${operation} held without an answer`);
        hang(res);
        return;
      }
      if (idempotencyKey) {
        res.set('Idempotency-Key', idempotencyKey);
        const start = idempotency.start(idempotencyKey, endpoint, print);
        if (start.kind === 'replay') {
          res.set('Idempotent-Replayed', 'true').status(start.response.statusCode).json(start.response.body);
          return;
        }
        holdsKey = true;
      }

      const fault = faults.take(operation);

      let statusCode = 200;
      let body: unknown;
      let saveResult = true;
      if (fault?.fault === 'status') {
        statusCode = fault.status!;
        body = faultErrorBody(statusCode);
        // Stripe rate-limits before the endpoint runs, so a 429 keeps no result.
        saveResult = statusCode !== 429;
        logger.warn(`Sandbox fault: ${operation} answered ${statusCode}`);
      } else {
        if (fault?.fault === 'slow') {
          logger.warn(`Sandbox fault: ${operation} slowed by ${fault.seconds} s`);
          await new Promise((resolve) => setTimeout(resolve, fault.seconds! * 1000));
        }
        try {
          const context = {
            params: ParamReader.root(values),
            requestId,
            idempotencyKey,
            apiVersion: String(res.locals.apiVersion),
          };
          body = await store.undoCreationsOnError(() => handler(context, req));
        } catch (error) {
          if (error instanceof StripeApiError) {
            statusCode = error.statusCode;
            body = error.toJSON();
            // Stripe saves no result for a request refused before it ran (bad parameters).
            saveResult = !error.validation;
          } else {
            logger.error(`Sandbox API ${req.method} ${req.path} failed: ${(error as Error).message}`);
            statusCode = 500;
            body = faultErrorBody(500);
          }
        }
      }

      if (idempotencyKey) {
        holdsKey = false;
        if (saveResult)
          idempotency.finish(idempotencyKey, { endpoint, fingerprint: print, statusCode, body });
        else idempotency.release(idempotencyKey);
      }
      // What the request changed (and its saved result) is stored before anyone hears of it.
      await store.flush();
      if (fault?.fault === 'drop_response') {
        logger.warn(`Sandbox fault: ${operation} done, answer dropped`);
        req.socket.destroy();
        return;
      }
      res.status(statusCode).json(body);
    } catch (error) {
      if (holdsKey && idempotencyKey) idempotency.release(idempotencyKey);
      if (error instanceof StripeApiError) {
        if (error.statusCode === 409) res.set('Stripe-Should-Retry', 'true');
        res.status(error.statusCode).json(error.toJSON());
        return;
      }
      logger.error(`Sandbox API ${req.method} ${req.path} failed: ${(error as Error).message}`);
      res.status(500).json(faultErrorBody(500));
    }
  };

  const sessionOr404 = (id: string): CheckoutSessionRecord => {
    const session = checkout.get(id);
    if (!session) throw resourceMissing('checkout.session', id, 'session');
    return session;
  };
  const sessionJson = (session: CheckoutSessionRecord, expand: Set<string>) => {
    const json = checkoutSessionJson(session, { lineItems: expand.has('line_items') });
    if (expand.has('payment_intent') && session.paymentIntentId) {
      const intent = store.paymentIntents.get(session.paymentIntentId);
      if (intent) return { ...json, payment_intent: paymentIntentJson(intent) };
    }
    return json;
  };

  router.post(
    '/checkout/sessions',
    route('checkout.sessions.create', ({ params, apiVersion }) => {
      const session = checkout.create(readNewCheckoutSession(store, params, scheduler.unixNow(), apiVersion));
      return sessionJson(session, readExpand(params, SESSION_EXPANSIONS));
    }),
  );
  router.get(
    '/checkout/sessions',
    route('checkout.sessions.list', ({ params }, req) => {
      params.allowOnly(['payment_intent', 'status', 'limit', 'starting_after', 'ending_before', 'expand',
        'created', 'customer', 'customer_account', 'customer_details', 'payment_link', 'subscription']); // prettier-ignore
      const createdMatches = readCreatedFilter(params);
      const email = params.hash('customer_details')?.allowOnly(['email']).string('email', { required: true });
      // Sessions of the sandbox have no customer, customer account, payment link or subscription:
      // filtering on one lists nothing, as Stripe would for such an account.
      const byAbsentLink = ['customer', 'customer_account', 'payment_link', 'subscription'].some(
        (key) => params.string(key) !== undefined,
      );
      const sessions = checkout
        .list({ paymentIntent: params.string('payment_intent'), status: params.string('status') })
        .filter((session) => !byAbsentLink && createdMatches(session.created))
        .filter((session) => email === undefined || session.customerDetails?.email === email);
      const expand = readExpand(
        params,
        SESSION_EXPANSIONS.map((path) => `data.${path}`),
      );
      const page = paginate(sessions, params);
      const data = page.items.map((s) =>
        sessionJson(s, new Set([...expand].map((path) => path.replace(/^data\./, '')))),
      );
      return listJson(`/v1${req.path}`, data, page.hasMore);
    }),
  );
  router.get(
    '/checkout/sessions/:id',
    route('checkout.sessions.retrieve', ({ params }, req) => {
      params.allowOnly(['expand']);
      return sessionJson(sessionOr404(String(req.params.id)), readExpand(params, SESSION_EXPANSIONS));
    }),
  );
  router.get(
    '/checkout/sessions/:id/line_items',
    route('checkout.sessions.listLineItems', ({ params }, req) => {
      params.allowOnly(['limit', 'starting_after', 'ending_before', 'expand']);
      const expand = readExpand(params, ['data.price.product']);
      const session = sessionOr404(String(req.params.id));
      const page = paginate(session.lineItems, params);
      const items = page.items.map((item) => {
        const json = lineItemJson(item);
        const product = store.products.get(item.price.productId);
        return expand.has('data.price.product') && product
          ? { ...json, price: { ...json.price, product: productJson(product) } }
          : json;
      });
      return listJson(`/v1${req.path}`, items, page.hasMore);
    }),
  );
  router.post(
    '/checkout/sessions/:id/expire',
    route('checkout.sessions.expire', ({ params, requestId, idempotencyKey }, req) => {
      params.allowOnly(['expand']);
      const session = sessionOr404(String(req.params.id));
      checkout.expire(session, { id: requestId, idempotency_key: idempotencyKey });
      return sessionJson(session, readExpand(params, SESSION_EXPANSIONS));
    }),
  );

  router.post(
    '/products',
    route('products.create', ({ params, requestId, idempotencyKey }) => {
      const json = productJson(createProduct(store, params, scheduler.unixNow()));
      const request = { id: requestId, idempotency_key: idempotencyKey };
      events.emit([{ type: 'product.created', object: json, request }]);
      return json;
    }),
  );
  router.get(
    '/products/:id',
    route('products.retrieve', ({ params }, req) => {
      params.allowOnly(['expand']);
      readExpand(params, []);
      const product = store.products.get(String(req.params.id));
      if (!product) throw resourceMissing('product', String(req.params.id), 'id');
      return productJson(product);
    }),
  );
  router.post(
    '/prices',
    route('prices.create', ({ params, requestId, idempotencyKey }) => {
      const json = priceJson(createPrice(store, params, scheduler.unixNow()));
      const request = { id: requestId, idempotency_key: idempotencyKey };
      events.emit([{ type: 'price.created', object: json, request }]);
      return json;
    }),
  );
  router.get(
    '/prices/:id',
    route('prices.retrieve', ({ params }, req) => {
      params.allowOnly(['expand']);
      const expand = readExpand(params, ['product']);
      const price = store.prices.get(String(req.params.id));
      if (!price) throw resourceMissing('price', String(req.params.id), 'price');
      const product = store.products.get(price.productId);
      return expand.has('product') && product
        ? { ...priceJson(price), product: productJson(product) }
        : priceJson(price);
    }),
  );
  router.get(
    '/payment_intents/:id',
    route('paymentIntents.retrieve', ({ params }, req) => {
      params.allowOnly(['expand', 'client_secret']);
      const expand = readExpand(params, ['latest_charge', 'payment_method']);
      const intent = store.paymentIntents.get(String(req.params.id));
      if (!intent) throw resourceMissing('payment_intent', String(req.params.id), 'intent');
      const clientSecret = params.string('client_secret');
      if (clientSecret !== undefined && clientSecret !== intent.clientSecret) {
        throw paramError.invalid(
          'client_secret',
          'The client_secret provided does not match this PaymentIntent.',
        );
      }
      const json = paymentIntentJson(intent);
      const charge = intent.latestChargeId ? store.charges.get(intent.latestChargeId) : undefined;
      return {
        ...json,
        ...(expand.has('latest_charge') && charge ? { latest_charge: chargeJson(charge) } : {}),
        ...(expand.has('payment_method') && charge && charge.paymentMethod.id === intent.paymentMethodId
          ? { payment_method: paymentMethodJson(charge.paymentMethod) }
          : {}),
      };
    }),
  );
  router.get(
    '/charges/:id',
    route('charges.retrieve', ({ params }, req) => {
      params.allowOnly(['expand']);
      const expand = readExpand(params, ['payment_intent']);
      const charge = store.charges.get(String(req.params.id));
      if (!charge) throw resourceMissing('charge', String(req.params.id), 'id');
      const intent = store.paymentIntents.get(charge.paymentIntentId);
      return expand.has('payment_intent') && intent
        ? { ...chargeJson(charge), payment_intent: paymentIntentJson(intent) }
        : chargeJson(charge);
    }),
  );
  router.get(
    '/events',
    route('events.list', ({ params }, req) => {
      params.allowOnly([
        'type',
        'types',
        'limit',
        'starting_after',
        'ending_before',
        'created',
        'delivery_success',
        'expand',
      ]);
      readExpand(params, []);
      const typeMatches = readEventTypeFilter(params);
      const createdMatches = readCreatedFilter(params);
      const deliveryMatches = readDeliverySuccessFilter(params);
      const events = [...store.events.values()]
        .reverse()
        .filter((e) => typeMatches(e.type) && createdMatches(e.created) && deliveryMatches(e))
        .map((event) => ({ id: event.id, json: event.json }));
      const page = paginate(events, params);
      return listJson(
        `/v1${req.path}`,
        page.items.map((event) => event.json),
        page.hasMore,
      );
    }),
  );
  router.get(
    '/events/:id',
    route('events.retrieve', ({ params }, req) => {
      params.allowOnly(['expand']);
      readExpand(params, []);
      const event = store.events.get(String(req.params.id));
      if (!event) throw resourceMissing('event', String(req.params.id), 'id');
      return event.json;
    }),
  );

  const endpointOr404 = (id: string): WebhookEndpointRecord => {
    const endpoint = store.webhookEndpoints.get(id);
    if (!endpoint) throw resourceMissing('webhook_endpoint', id, 'id');
    return endpoint;
  };
  router.post(
    '/webhook_endpoints',
    route('webhookEndpoints.create', ({ params }) => {
      readExpand(params, []);
      const endpoint = createWebhookEndpoint(store, params, scheduler.unixNow());
      return webhookEndpointJson(endpoint, { withSecret: true });
    }),
  );
  router.get(
    '/webhook_endpoints',
    route('webhookEndpoints.list', ({ params }, req) => {
      params.allowOnly(['limit', 'starting_after', 'ending_before', 'expand']);
      readExpand(params, []);
      const page = paginate([...store.webhookEndpoints.values()].reverse(), params);
      return listJson(
        `/v1${req.path}`,
        page.items.map((endpoint) => webhookEndpointJson(endpoint)),
        page.hasMore,
      );
    }),
  );
  router.get(
    '/webhook_endpoints/:id',
    route('webhookEndpoints.retrieve', ({ params }, req) => {
      params.allowOnly(['expand']);
      readExpand(params, []);
      return webhookEndpointJson(endpointOr404(String(req.params.id)));
    }),
  );
  router.post(
    '/webhook_endpoints/:id',
    route('webhookEndpoints.update', ({ params }, req) => {
      const endpoint = endpointOr404(String(req.params.id));
      readExpand(params, []);
      updateWebhookEndpoint(endpoint, params);
      return webhookEndpointJson(endpoint);
    }),
  );
  router.delete(
    '/webhook_endpoints/:id',
    route('webhookEndpoints.del', ({ params }, req) => {
      params.allowOnly([]);
      const endpoint = endpointOr404(String(req.params.id));
      store.webhookEndpoints.delete(endpoint.id);
      return { id: endpoint.id, object: 'webhook_endpoint', deleted: true };
    }),
  );

  paymentRoutes(router, route, paginate, deps);
  stripeCliRoutes(router, route, deps.stripeCli);

  router.use((req: Request, res: Response) => {
    res.status(404).json({
      error: {
        type: 'invalid_request_error',
        message: `Unrecognized request URL (${req.method}: ${req.originalUrl.split('?')[0]}). Please see https://stripe.com/docs or we can help at https://support.stripe.com/.`,
      },
    });
  });
  return router;
}

/** Holds a request unanswered until its client gives up (or the hang limit passes). */
function hang(res: Response): void {
  const timer = setTimeout(() => res.socket?.destroy(), HANG_LIMIT_MS);
  timer.unref();
  res.on('close', () => clearTimeout(timer));
}

/** The error body Stripe answers with for a status (what a `status` fault answers). */
function faultErrorBody(statusCode: number): { error: StripeErrorBody } {
  if (statusCode >= 500) return { error: { type: 'api_error', message: 'An unknown error occurred' } };
  if (statusCode === 429) {
    return {
      error: {
        type: 'invalid_request_error',
        code: 'rate_limit',
        doc_url: 'https://stripe.com/docs/error-codes/rate-limit',
        message:
          'Too many requests hit the API too quickly. We recommend an exponential backoff of your requests.',
      },
    };
  }
  return {
    error: {
      type: 'invalid_request_error',
      message: `The sandbox answered ${statusCode} because a fault was switched on (POST /_sandbox/faults).`,
    },
  };
}

/** Stripe's cursor pagination over a newest-first list: `limit`, `starting_after`, `ending_before`. */
function paginate<T extends { id: string }>(
  items: T[],
  params: ParamReader,
): { items: T[]; hasMore: boolean } {
  const limit = params.integer('limit', { min: 1, max: 100 }) ?? 10;
  const after = params.string('starting_after');
  const before = params.string('ending_before');
  let start = 0;
  let end = items.length;
  if (after !== undefined) {
    const index = items.findIndex((item) => item.id === after);
    if (index < 0)
      throw paramError.invalid('starting_after', `No such object: '${after}'`, 'resource_missing');
    start = index + 1;
  }
  if (before !== undefined) {
    const index = items.findIndex((item) => item.id === before);
    if (index < 0)
      throw paramError.invalid('ending_before', `No such object: '${before}'`, 'resource_missing');
    end = index;
    start = Math.max(start, end - limit);
  }
  const page = items.slice(start, Math.min(end, start + limit));
  return { items: page, hasMore: start + page.length < end };
}
