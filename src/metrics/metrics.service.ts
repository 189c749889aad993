import { createServer, type Server } from 'node:http';
import { CreateRequestContext, MikroORM } from '@mikro-orm/core';
import { Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { OnEvent } from '@nestjs/event-emitter';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { AppConfig } from '../config';
import { PaymentsAdmin, ReconciliationRanEvent } from '../payments';

/**
 * Prometheus metrics for the people who run the shop, on their own port (`METRICS_PORT`, off by
 * default), never on the public one. Webhook outcomes, open review items and refunds are read from
 * the database at each scrape, so every instance reports the same totals; webhook latency and
 * reconciliation runs are this instance's own.
 */
@Injectable()
export class MetricsService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(MetricsService.name);
  readonly registry = new Registry();
  private server?: Server;

  readonly webhookDuration = new Histogram({
    name: 'payflow_webhook_duration_seconds',
    help: 'Time to answer a Stripe webhook delivery, by HTTP status',
    labelNames: ['status'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });

  private readonly reconciliationRuns = new Counter({
    name: 'payflow_reconciliation_runs_total',
    help: 'Reconciliation runs that checked at least one attempt (this instance)',
    registers: [this.registry],
  });

  private readonly reconciliationChecks = new Counter({
    name: 'payflow_reconciliation_checks_total',
    help: 'Checkout attempts reconciliation asked Stripe about, by result (this instance)',
    labelNames: ['result'] as const,
    registers: [this.registry],
  });

  constructor(
    private readonly config: AppConfig,
    private readonly payments: PaymentsAdmin,
    private readonly orm: MikroORM,
  ) {
    const webhookEvents: Gauge<'type' | 'outcome'> = new Gauge({
      name: 'payflow_webhook_events',
      help: 'Stripe events in the webhook ledger, by type and outcome (all instances)',
      labelNames: ['type', 'outcome'] as const,
      registers: [this.registry],
      collect: async () => {
        const counts = await this.read(() => this.payments.counts(new Date(0)));
        webhookEvents.reset();
        for (const row of counts.webhooksSince) {
          webhookEvents.set({ type: row.type, outcome: row.outcome ?? 'none' }, row.count);
        }
      },
    });
    const openReviews: Gauge = new Gauge({
      name: 'payflow_review_items_open',
      help: 'Money problems waiting for a person',
      registers: [this.registry],
      collect: async () => openReviews.set(await this.read(() => this.payments.openReviewCount())),
    });
    const refunds: Gauge<'status'> = new Gauge({
      name: 'payflow_refunds',
      help: 'Refunds by status',
      labelNames: ['status'] as const,
      registers: [this.registry],
      collect: async () => {
        const counts = await this.read(() => this.payments.counts(new Date()));
        refunds.reset();
        for (const row of counts.refundsByStatus) refunds.set({ status: row.status }, row.count);
      },
    });
    collectDefaultMetrics({ register: this.registry, prefix: 'payflow_' });
  }

  @OnEvent(ReconciliationRanEvent.eventName)
  countReconciliation(event: ReconciliationRanEvent): void {
    if (event.checked === 0) return;
    this.reconciliationRuns.inc();
    this.reconciliationChecks.inc({ result: 'finding' }, event.findings);
    this.reconciliationChecks.inc({ result: 'failed' }, event.failed);
    this.reconciliationChecks.inc({ result: 'nothing_new' }, event.checked - event.findings - event.failed);
  }

  async onApplicationBootstrap(): Promise<void> {
    const port = this.config.metricsPort;
    if (port === undefined) return;
    this.server = createServer((req, res) => {
      if (req.method !== 'GET' || (req.url ?? '').split('?')[0] !== '/metrics') {
        res.writeHead(404, { 'Content-Type': 'text/plain' }).end('Not found\n');
        return;
      }
      this.registry.metrics().then(
        (body) => res.writeHead(200, { 'Content-Type': this.registry.contentType }).end(body),
        (error: unknown) => {
          this.logger.error({ err: error }, 'Could not collect metrics');
          res.writeHead(500, { 'Content-Type': 'text/plain' }).end('Metrics unavailable\n');
        },
      );
    });
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(port, () => resolve());
    });
    this.logger.log(`Metrics on port ${port}: /metrics`);
  }

  async onApplicationShutdown(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** A unit of work for each scrape's reads (they run outside any request). */
  @CreateRequestContext()
  private read<T>(work: () => Promise<T>): Promise<T> {
    return work();
  }
}
