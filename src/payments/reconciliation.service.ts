import { EntityManager } from '@mikro-orm/postgresql';
import { Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import { AppConfig } from '../config';
import { PaymentEventsService } from './payment-events.service';
import { PaymentGateway } from './payment-gateway.port';

const JOB = 'payments-reconciliation';
/** Attempts handled per run; the rest wait for the next run. */
const BATCH = 50;

export interface ReconciliationRun {
  checked: number;
  applied: number;
  failed: number;
}

/**
 * Catches what webhooks missed: attempts still open or processing some time after they began are
 * checked with Stripe and applied through the same path as their webhooks. Instances share the work
 * safely: each run claims its rows with `FOR UPDATE SKIP LOCKED` and pushes their next check into
 * the future, so two instances never check the same attempt at once, and no transaction stays open
 * while Stripe is asked.
 */
@Injectable()
export class ReconciliationService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(ReconciliationService.name);
  private running = false;

  constructor(
    private readonly em: EntityManager,
    private readonly gateway: PaymentGateway,
    private readonly paymentEvents: PaymentEventsService,
    private readonly scheduler: SchedulerRegistry,
    private readonly config: AppConfig,
  ) {}

  onApplicationBootstrap(): void {
    const { intervalSeconds } = this.config.reconciliation;
    if (intervalSeconds === 0) return;
    const timer = setInterval(() => void this.runOnce(), intervalSeconds * 1000);
    timer.unref();
    this.scheduler.addInterval(JOB, timer);
  }

  onApplicationShutdown(): void {
    if (this.scheduler.doesExist('interval', JOB)) this.scheduler.deleteInterval(JOB);
  }

  async runOnce(): Promise<ReconciliationRun> {
    const run: ReconciliationRun = { checked: 0, applied: 0, failed: 0 };
    if (this.running) return run;
    this.running = true;
    try {
      for (const { session_id: sessionId, order_id: orderId } of await this.claim()) {
        run.checked++;
        try {
          const session = await this.gateway.retrieveCheckout(sessionId);
          const applied = await this.paymentEvents.applySession(session, {
            kind: 'reconciliation',
            ref: sessionId,
          });
          if (applied) run.applied++;
        } catch (error) {
          run.failed++;
          this.logger.warn(
            { orderId, sessionId, err: (error as Error).message },
            'Reconciliation: check failed',
          );
        }
      }
      if (run.checked) this.logger.log(run, 'Reconciliation run');
    } catch (error) {
      this.logger.error({ err: error }, 'Reconciliation run failed');
    } finally {
      this.running = false;
    }
    return run;
  }

  /** Attempts due for a check, claimed by this instance until their next check time. */
  private claim(): Promise<{ session_id: string; order_id: string }[]> {
    const { afterSeconds } = this.config.reconciliation;
    return this.em.fork().execute(
      `with claimed as (
         update payments set next_check_at = now() + make_interval(secs => ?)
         where id in (
           select id from payments
           where status in ('open', 'processing') and session_id is not null
             and created_at < now() - make_interval(secs => ?)
             and (next_check_at is null or next_check_at <= now())
           order by created_at
           limit ?
           for update skip locked)
         returning session_id, order_id, created_at)
       select session_id, order_id from claimed order by created_at`,
      [afterSeconds, afterSeconds, BATCH],
    );
  }
}
