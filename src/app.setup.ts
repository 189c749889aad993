import type { NestExpressApplication } from '@nestjs/platform-express';
import cors from 'cors';
import express, { type NextFunction, type Request, type Response } from 'express';
import helmet from 'helmet';
import { Logger } from 'nestjs-pino';
import { AppConfig } from './config';
import { WebhookTimingMiddleware } from './metrics';
import { NotificationsModule } from './notifications';
import { StripeWebhookController } from './payments';
import { directRoute } from './shared/direct-route';
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

/**
 * Everything about the HTTP application that is not a module: shared by `main.ts` and the tests, so
 * that the tests exercise the application as it runs.
 */
export function configureApp(app: NestExpressApplication): NestExpressApplication {
  const config = app.get(AppConfig);
  app.useLogger(app.get(Logger));
  // First: requests in flight are counted, so that a SIGTERM lets them finish.
  app.use(app.get(GracefulShutdown).middleware);
  app.use(assignRequestId);
  app.use('/api', apiSecurityHeaders());
  const filter = new DomainErrorFilter({ notFoundPage: (res) => StorefrontModule.notFoundPage(res) });
  const allowOrigins = cors({ origin: config.corsOrigins });
  // Stripe's webhook, the busiest route, is served here, ahead of the body parsers and Nest's router,
  // with the same middleware, in the same order, as the route would get from them (see directRoute).
  const webhooks = app.get(StripeWebhookController);
  app.use(
    directRoute({
      method: 'POST',
      url: STRIPE_WEBHOOK_ROUTE.url,
      before: [...webhookBody(), allowOrigins, ...requestLog(config), app.get(WebhookTimingMiddleware).use],
      onError: [bodyParserErrors],
      handle: (request) =>
        webhooks.receive(request, request.headers['stripe-signature'] as string | undefined),
      status: StripeWebhookController.status,
      filter,
    }),
  );
  app.useBodyParser('json', { limit: BODY_LIMIT });
  app.useBodyParser('urlencoded', { limit: BODY_LIMIT, extended: false });
  app.use(bodyParserErrors);
  app.setGlobalPrefix('api');
  app.useGlobalPipes(createValidationPipe());
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
function webhookBody(): ((request: Request, response: Response, next: NextFunction) => void)[] {
  const read = express.raw({ type: 'application/json', limit: BODY_LIMIT });
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
    (request: Request & { rawBody?: Buffer }, _response, next) => {
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
 */
function apiSecurityHeaders(): (request: Request, response: Response, next: NextFunction) => void {
  const api = helmet({
    contentSecurityPolicy: { directives: { defaultSrc: ["'none'"], frameAncestors: ["'none'"] } },
  });
  const docs = helmet({
    contentSecurityPolicy: {
      directives: {
        defaultSrc: ["'self'"],
        scriptSrc: ["'self'"],
        styleSrc: ["'self'", "'unsafe-inline'"],
        imgSrc: ["'self'", 'data:'],
        frameAncestors: ["'none'"],
      },
    },
  });
  return (request, response, next) =>
    (request.path.startsWith('/docs') ? docs : api)(request, response, next);
}
