import type { IncomingMessage } from 'node:http';
import type { NestExpressApplication } from '@nestjs/platform-express';
import cors from 'cors';
import express, { type NextFunction, type Request, type Response } from 'express';
import helmet from 'helmet';
import { Logger } from 'nestjs-pino';
import { customerRoutesAhead } from './app.direct-routes';
import { AppConfig } from './config';
import { WebhookTimingMiddleware } from './metrics';
import { NotificationsModule } from './notifications';
import { StripeWebhookController } from './payments';
import { fixedHeadersOf, type Middleware, serveAhead } from './shared/direct-route';
import { bodyParserErrors, DomainErrorFilter } from './shared/domain-error.filter';
import { createValidationPipe } from './shared/http';
import { assignRequestId, requestLog } from './shared/logging';
import { setupOpenApi } from './shared/openapi';
import { STRIPE_WEBHOOK_ROUTE } from './shared/webhook-route';
import { GracefulShutdown } from './shared/shutdown';
import { StorefrontModule } from './storefront';
import { addStaffSecuritySchemes } from './staff';

/** Largest JSON body accepted; an order or a Stripe event is a few kilobytes. */
export const BODY_LIMIT = '100kb';
const JSON_BODY = { limit: BODY_LIMIT };
const FORM_BODY = { limit: BODY_LIMIT, extended: false };

/**
 * Everything about the HTTP application that is not a module: shared by `main.ts` and the tests, so
 * that the tests exercise the application as it runs.
 */
export function configureApp(app: NestExpressApplication): NestExpressApplication {
  const config = app.get(AppConfig);
  app.useLogger(app.get(Logger));
  // First: requests in flight are counted, so that a SIGTERM lets them finish.
  const inFlight = app.get(GracefulShutdown).middleware;
  app.use(inFlight);
  app.use(assignRequestId);
  const security = apiSecurityHeaders();
  app.use('/api', security.middleware);
  const filter = new DomainErrorFilter({ notFoundPage: (res) => StorefrontModule.notFoundPage(res) });
  const allowOrigins = cors({ origin: config.corsOrigins });
  /** What every API route gets from the application's middleware, in its order, around its body's reading. */
  const apiMiddleware = (readBody: Middleware[]): Middleware[] => [
    inFlight,
    assignRequestId,
    security.api,
    ...readBody,
    allowOrigins as Middleware,
    ...requestLog(config),
  ];
  const validation = createValidationPipe();
  // Stripe's webhook, the busiest route, is served by the HTTP server ahead of Express, with the
  // middleware it would get from the application, in the same order (see serveAhead).
  const webhooks = app.get(StripeWebhookController);
  serveAhead(app.getHttpServer(), {
    method: 'POST',
    url: STRIPE_WEBHOOK_ROUTE.url,
    before: [...apiMiddleware(webhookBody()), app.get(WebhookTimingMiddleware).use],
    onError: [bodyParserErrors],
    handle: (request) => webhooks.receive(request, request.headers['stripe-signature'] as string | undefined),
    status: StripeWebhookController.status,
    filter,
    express: app.getHttpAdapter().getInstance(),
  });
  // The customer's two busiest routes (placing an order, opening its checkout), likewise, with
  // what every API route gets and what Nest runs for them (see customerRoutesAhead).
  for (const route of customerRoutesAhead(app, {
    before: apiMiddleware([express.json(JSON_BODY), express.urlencoded(FORM_BODY)]),
    onError: [bodyParserErrors],
    filter,
    validation,
  })) {
    serveAhead(app.getHttpServer(), route);
  }
  app.useBodyParser('json', JSON_BODY);
  app.useBodyParser('urlencoded', FORM_BODY);
  app.use(bodyParserErrors);
  app.setGlobalPrefix('api');
  app.useGlobalPipes(validation);
  app.useGlobalFilters(filter);
  app.use(allowOrigins); // CORS, as Nest's enableCors installs it
  app.useWebSocketAdapter(NotificationsModule.socketAdapter(app, config));
  app.disable('x-powered-by');
  // Behind a load balancer, the client's address (for the rate limit) comes from X-Forwarded-For.
  app.set('trust proxy', config.trustProxy);
  app.enableShutdownHooks();

  setupOpenApi(app, addStaffSecuritySchemes);
  return app;
}

/**
 * Stripe's webhook body, read as the bytes that were signed (`rawBody`) and not parsed here: the
 * intake verifies the signature first and parses once. The same refusals as the JSON parser's: a
 * body over the limit (413), a charset other than UTF-8 (415); another content type is left
 * unread, and the controller refuses it.
 */
function webhookBody(): Middleware[] {
  // body-parser's middleware, as Express mounts it: Connect-style, on Node's request and response.
  const read = express.raw({ type: 'application/json', limit: BODY_LIMIT }) as unknown as Middleware;
  return [
    (request, _response, next) => {
      const charset = /;\s*charset\s*=\s*"?([^";\s]+)/i.exec(request.headers['content-type'] ?? '')?.[1];
      if (charset && charset.toLowerCase() !== 'utf-8') {
        return next(
          Object.assign(new Error('unsupported charset'), { status: 415, type: 'charset.unsupported' }),
        );
      }
      read(request, _response, next);
    },
    (request: IncomingMessage & { body?: unknown; rawBody?: Buffer }, _response, next) => {
      if (Buffer.isBuffer(request.body)) {
        request.rawBody = request.body;
        request.body = undefined;
      }
      next();
    },
  ];
}

/**
 * Security headers (helmet) on the API and its documentation. The API answers JSON only: nothing
 * may load from it. The documentation page (Swagger UI) loads its own scripts and inline styles.
 * For a fixed configuration helmet sets the same headers on every response: they are computed once
 * (`fixedHeadersOf`), instead of a dozen middleware calls per request.
 */
function apiSecurityHeaders(): {
  middleware: (request: Request, response: Response, next: NextFunction) => void;
  /** The API's alone. */
  api: Middleware;
} {
  const api = fixedHeadersOf(
    helmet({
      contentSecurityPolicy: { directives: { defaultSrc: ["'none'"], frameAncestors: ["'none'"] } },
    }),
  );
  const docs = fixedHeadersOf(
    helmet({
      contentSecurityPolicy: {
        directives: {
          defaultSrc: ["'self'"],
          scriptSrc: ["'self'"],
          styleSrc: ["'self'", "'unsafe-inline'"],
          imgSrc: ["'self'", 'data:'],
          frameAncestors: ["'none'"],
        },
      },
    }),
  );
  return {
    api,
    middleware: (request, response, next) =>
      (request.path.startsWith('/docs') ? docs : api)(request, response, next),
  };
}
