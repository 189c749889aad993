import { type MiddlewareConsumer, Module, type NestModule, RequestMethod } from '@nestjs/common';
import { PaymentsModule } from '../payments';
import { STRIPE_WEBHOOK_ROUTE } from '../shared/webhook-route';
import { MetricsService } from './metrics.service';
import { WebhookTimingMiddleware } from './webhook-timing.middleware';

/** `/metrics` (Prometheus) on `METRICS_PORT` when it is set; nothing otherwise. */
@Module({
  imports: [PaymentsModule],
  providers: [MetricsService],
})
export class MetricsModule implements NestModule {
  configure(consumer: MiddlewareConsumer): void {
    consumer
      .apply(WebhookTimingMiddleware)
      .forRoutes({ path: STRIPE_WEBHOOK_ROUTE.path, method: RequestMethod.POST });
  }
}
