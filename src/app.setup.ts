import type { NestExpressApplication } from '@nestjs/platform-express';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { Logger } from 'nestjs-pino';
import { AppConfig } from './config';
import { NotificationsModule } from './notifications';
import { DomainErrorFilter } from './shared/domain-error.filter';
import { createValidationPipe } from './shared/http';

/** Largest JSON body accepted; an order or a Stripe event is a few kilobytes. */
export const BODY_LIMIT = '100kb';

/**
 * Everything about the HTTP application that is not a module: shared by `main.ts` and the tests, so
 * that the tests exercise the application as it runs.
 */
export function configureApp(app: NestExpressApplication): NestExpressApplication {
  const config = app.get(AppConfig);
  app.useLogger(app.get(Logger));
  app.useBodyParser('json', { limit: BODY_LIMIT });
  app.useBodyParser('urlencoded', { limit: BODY_LIMIT, extended: false });
  app.setGlobalPrefix('api');
  app.useGlobalPipes(createValidationPipe());
  app.useGlobalFilters(new DomainErrorFilter());
  app.enableCors({ origin: config.corsOrigins });
  app.useWebSocketAdapter(NotificationsModule.socketAdapter(app, config));
  app.disable('x-powered-by');
  // Behind a load balancer, the client's address (for the rate limit) comes from X-Forwarded-For.
  app.set('trust proxy', config.trustProxy);
  app.enableShutdownHooks();

  const info = new DocumentBuilder()
    .setTitle('Payment flow service')
    .setDescription('Orders paid through Stripe Checkout, with live status over Socket.IO (/orders).')
    .setVersion('1')
    .addBearerAuth({ type: 'http', scheme: 'bearer', description: "The order's accessToken" })
    .build();
  // Built on the first request for the documentation, not at every start.
  SwaggerModule.setup('api/docs', app, () => SwaggerModule.createDocument(app, info));
  return app;
}
