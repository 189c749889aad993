import { EnsureRequestContext, LockMode } from '@mikro-orm/core';
import { EntityManager } from '@mikro-orm/postgresql';
import { Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { EventEmitter2 } from '@nestjs/event-emitter';
import { SchedulerRegistry } from '@nestjs/schedule';
import { AppConfig } from '../config';
import { CheckoutOutcomes } from './checkout-outcomes.service';
import { ReconciliationRanEvent } from './events/reconciliation-ran.event';
import { OrderAccess } from './order-access.port';
import { Payment, PaymentStatus } from './payment.entity';
import {
  CheckoutSessionNotFoundError,
  PaymentProviderRefusedError,
  PaymentProviderUnavailableError,
} from './payment.errors';
import { PaymentGateway } from './payment-gateway.port';
import { PaymentsService } from './payments.service';
import { RefundsService } from './refunds/refunds.service';

const JOB = 'payments-reconciliation';
/** Attempts handled per run; the rest wait for the next run. */
const BATCH = 50;
/** How long a claimed attempt stays with the instance that claimed it, should that one stop mid-run. */
const LEASE_SECONDS = 120;
/** Stripe keeps idempotency keys 24 hours; a creation older than this is given up rather than repeated. */
const KEY_LIFETIME_MS = 23 * 60 * 60_000;

export interface ReconciliationRun {
  checked: number;
  applied: number;
  failed: number;
}

type Finding = 'applied' | 'nothing new' | 'closed' | 'abandoned';

/**
 * Catches what webhooks missed, and finishes what a crash interrupted: attempts still `creating`
 * are created again under their own key; open or processing ones are asked about and applied
 * through the same path as their webhooks; sessions that must no longer take money are expired.
 * Each attempt is asked with backoff (see `Payment.scheduleNextCheck`); an attempt that needs review
 * is final and never asked again. Instances share the work safely: a run claims its rows with
 * `FOR UPDATE SKIP LOCKED` under a lease, and no transaction stays open while Stripe is asked.
 */
@Injectable()
export class ReconciliationService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(ReconciliationService.name);
  private running = false;

  constructor(
    private readonly em: EntityManager,
    private readonly gateway: PaymentGateway,
    private readonly outcomes: CheckoutOutcomes,
    private readonly payments: PaymentsService,
    private readonly refunds: RefundsService,
    private readonly orders: OrderAccess,
    private readonly scheduler: SchedulerRegistry,
    private readonly config: AppConfig,
    private readonly events: EventEmitter2,
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

  /** One run, in a unit of work of its own (it runs on a timer, outside any request). */
  @EnsureRequestContext()
  async runOnce(): Promise<ReconciliationRun> {
    const run: ReconciliationRun = { checked: 0, applied: 0, failed: 0 };
    if (this.running) return run;
    this.running = true;
    try {
      for (const id of await this.claim()) {
        run.checked++;
        const finding = await this.check(id);
        if (finding === 'failed') run.failed++;
        else if (finding !== 'nothing new') run.applied++;
        await this.scheduleNext(id);
      }
      for (const id of await this.claimRefunds()) {
        run.checked++;
        const finding = await this.checkRefund(id);
        if (finding === 'failed') run.failed++;
        else if (finding === 'applied' || finding === 'declined') run.applied++;
        await this.refunds.scheduleCreationCheck(id);
      }
      if (run.checked) this.logger.log(run, 'Reconciliation run');
      // For metrics; nothing depends on it.
      this.events.emit(
        ReconciliationRanEvent.eventName,
        new ReconciliationRanEvent(run.checked, run.applied, run.failed, new Date()),
      );
    } catch (error) {
      this.logger.error({ err: error }, 'Reconciliation run failed');
    } finally {
      this.running = false;
    }
    return run;
  }

  /** One attempt: what Stripe says of it, applied. Never throws; says what happened. */
  private async check(id: string): Promise<Finding | 'failed'> {
    const payment = await this.em.fork().findOneOrFail(Payment, id);
    const context = { orderId: payment.orderId, paymentId: payment.id, sessionId: payment.sessionId };
    try {
      const finding = await this.reconcile(payment);
      this.logger.log(context, `Reconciliation: attempt ${payment.attempt} (${payment.status}): ${finding}`);
      return finding;
    } catch (error) {
      const answer =
        error instanceof CheckoutSessionNotFoundError
          ? 'Stripe has no such session (404)'
          : error instanceof PaymentProviderRefusedError
            ? `Stripe answered ${error.statusCode}: ${error.providerMessage}`
            : error instanceof PaymentProviderUnavailableError
              ? 'Stripe could not be reached'
              : (error as Error).message;
      this.logger.warn(context, `Reconciliation: attempt ${payment.attempt}: ${answer}`);
      return 'failed';
    }
  }

  private async reconcile(payment: Payment): Promise<Finding> {
    if (payment.status === PaymentStatus.Creating) {
      if (Date.now() - payment.createdAt.getTime() > KEY_LIFETIME_MS) {
        await this.em.transactional(async (em) => {
          (await em.findOneOrFail(Payment, payment.id, { lockMode: LockMode.PESSIMISTIC_WRITE })).abandon();
        });
        return 'abandoned';
      }
      await this.payments.finishCreation(payment.id);
      const after = await this.em.fork().findOneOrFail(Payment, payment.id);
      if (after.status === PaymentStatus.Creating) return 'nothing new';
      if (after.isFinal || !after.sessionId) return 'applied';
      // The session is ours now (that is what we learned); then it is handled as any open one.
      const finding = await this.reconcile(after);
      return finding === 'nothing new' ? 'applied' : finding;
    }
    if (!payment.sessionId) return 'nothing new';
    const order = await this.orders.find(payment.orderId);
    if (payment.closeRequestedAt || (payment.status === PaymentStatus.Open && !order?.payable)) {
      if (!payment.closeRequestedAt) {
        await this.em.transactional(async (em) => {
          (
            await em.findOneOrFail(Payment, payment.id, { lockMode: LockMode.PESSIMISTIC_WRITE })
          ).requestClose();
        });
      }
      await this.payments.closeSession(payment.id);
      return 'closed';
    }
    const session = await this.gateway.retrieveCheckout(payment.sessionId);
    const applied = await this.outcomes.applySession(session, { kind: 'reconciliation', ref: session.id });
    return applied ? 'applied' : 'nothing new';
  }

  /** Backoff: the next time this attempt is asked about, if ever. */
  private async scheduleNext(id: string): Promise<void> {
    await this.em.fork().transactional(async (em) => {
      const payment = await em.findOneOrFail(Payment, id, { lockMode: LockMode.PESSIMISTIC_WRITE });
      payment.scheduleNextCheck();
    });
  }

  /** A refund Stripe has not confirmed: asked for again under its key. Never throws. */
  private async checkRefund(id: string): Promise<string> {
    try {
      const finding = await this.refunds.confirmCreation(id);
      this.logger.log({ refundId: id }, `Reconciliation: refund not confirmed by Stripe: ${finding}`);
      return finding;
    } catch (error) {
      const answer =
        error instanceof PaymentProviderUnavailableError
          ? 'Stripe could not be reached'
          : (error as Error).message;
      this.logger.warn({ refundId: id }, `Reconciliation: refund not confirmed by Stripe: ${answer}`);
      return 'failed';
    }
  }

  /** Refunds Stripe never confirmed, due for a check, claimed by this instance for the lease. */
  private claimRefunds(): Promise<string[]> {
    return this.claimDue('refunds', `status = 'creating'`);
  }

  /** Attempts due for a check, claimed by this instance for the lease. */
  private claim(): Promise<string[]> {
    return this.claimDue('payments', `status in ('creating', 'open', 'processing')`);
  }

  /** Rows of `table` in `states` whose check is due, oldest first, claimed for the lease (skipping rows another instance holds). */
  private async claimDue(table: 'payments' | 'refunds', states: string): Promise<string[]> {
    const rows = await this.em.fork().execute<{ id: string }[]>(
      `with claimed as (
         update ${table} set next_check_at = now() + make_interval(secs => ?)
         where id in (
           select id from ${table}
           where ${states} and next_check_at <= now()
           order by next_check_at
           limit ?
           for update skip locked)
         returning id, created_at)
       select id from claimed order by created_at`,
      [LEASE_SECONDS, BATCH],
    );
    return rows.map((row) => row.id);
  }
}
