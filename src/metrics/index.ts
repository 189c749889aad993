export { MetricsModule } from './metrics.module';
export { WebhookTimingMiddleware } from './webhook-timing.middleware';
