import { Module } from '@nestjs/common';
import { PaymentsModule } from '../payments';
import { MetricsService } from './metrics.service';
import { WebhookTimingMiddleware } from './webhook-timing.middleware';

/**
 * `/metrics` (Prometheus) on `METRICS_PORT` when it is set; nothing otherwise. Webhook deliveries are
 * timed by `WebhookTimingMiddleware`, which the webhook's route runs (`configureApp`: the route is
 * served by the HTTP server ahead of Express).
 */
@Module({
  imports: [PaymentsModule],
  providers: [MetricsService, WebhookTimingMiddleware],
})
export class MetricsModule {}
