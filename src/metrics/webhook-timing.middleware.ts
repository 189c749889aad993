import { Injectable, type NestMiddleware } from '@nestjs/common';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { MetricsService } from './metrics.service';

/** Times each webhook delivery, from arrival to the answer leaving. */
@Injectable()
export class WebhookTimingMiddleware implements NestMiddleware {
  constructor(private readonly metrics: MetricsService) {}

  readonly use = (_req: IncomingMessage, res: ServerResponse, next: () => void): void => {
    const end = this.metrics.webhookDuration.startTimer();
    res.once('finish', () => end({ status: String(res.statusCode) }));
    next();
  };
}
