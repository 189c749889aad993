import { LockMode } from '@mikro-orm/core';
import { EntityManager } from '@mikro-orm/postgresql';
import { Injectable, Logger } from '@nestjs/common';
import { AppConfig } from '../config';
import { DetachedEntities } from '../shared/database/detached-entities';
import { insertOf } from '../shared/database/explicit-sql';
import { sql, WriteStatement } from '../shared/database/sql';
import { type SqlTransaction, SqlTransactions } from '../shared/database/sql-transactions';
import { OutboxWriter } from '../shared/outbox';
import { AttemptsInStatement } from './attempt-statements';
import { CheckoutOutcomes } from './checkout-outcomes.service';
import { CheckoutStartedEvent } from './events/checkout-started.event';
import { OrderAccess, type PayableOrder } from './order-access.port';
import { MIN_EXPIRY_MS, Payment, PaymentStatus } from './payment.entity';
import {
  CheckoutNotAllowedError,
  CheckoutNotOpenError,
  PaymentProviderRefusedError,
  PaymentProviderUnavailableError,
  UnknownCheckoutSessionError,
} from './payment.errors';
import { type CheckoutRequest, type CheckoutSession, PaymentGateway } from './payment-gateway.port';

/** Extra minutes on top of the configured lifetime, so that a failed creation can be retried as sent. */
const CREATION_GRACE_MS = 5 * 60_000;
/** Stripe's longest session lifetime. */
const MAX_EXPIRY_MS = 24 * 60 * 60_000;
/** Rounds of "close the previous session, then open a new one" before the customer is asked to retry. */
const MAX_ROUNDS = 3;

export interface CheckoutView {
  sessionId: string;
  url: string;
  expiresAt: Date;
}

type Plan =
  { kind: 'serve'; order: PayableOrder; payment: Payment } | { kind: 'close-first'; attempts: Payment[] };

/**
 * Checkout attempts: opening a session (one at a time per order), the success page's check, and
 * closing sessions that must no longer take money.
 */
@Injectable()
export class PaymentsService {
  private readonly logger = new Logger(PaymentsService.name);

  constructor(
    private readonly em: EntityManager,
    private readonly gateway: PaymentGateway,
    private readonly orders: OrderAccess,
    private readonly outcomes: CheckoutOutcomes,
    private readonly config: AppConfig,
    private readonly transactions: SqlTransactions,
    private readonly detached: DetachedEntities,
    private readonly outbox: OutboxWriter,
  ) {}

  /**
   * Opens a Checkout Session for the order, or returns the one still open. The attempt is recorded
   * under the order's row lock; Stripe is called outside any transaction with the attempt's
   * deterministic idempotency key, so a retry after a lost answer reaches the same session, never a
   * second one. A previous session that could still take money is closed first: at most one
   * session of an order can take money at a time.
   */
  async startCheckout(orderId: string, token: string | undefined): Promise<CheckoutView> {
    for (let round = 1; ; round++) {
      const plan = await this.plan(orderId, token);
      if (plan.kind === 'serve') return this.serve(plan.order, plan.payment);
      if (round === MAX_ROUNDS) throw new PaymentProviderUnavailableError();
      await this.closeBeforeNewAttempt(plan.attempts);
    }
  }

  /**
   * The success page's check: asks Stripe how the session stands and applies it like its webhook,
   * so a customer who is back before the webhook sees the truth.
   */
  async confirmCheckout(
    orderId: string,
    token: string | undefined,
    sessionId: string,
  ): Promise<PayableOrder> {
    await this.orders.forCustomer(orderId, token);
    const payment = await this.em.findOne(Payment, { orderId, sessionId });
    if (!payment) throw new UnknownCheckoutSessionError();
    const session = await this.gateway.retrieveCheckout(sessionId);
    await this.outcomes.applySession(session, { kind: 'redirect', ref: sessionId });
    return this.orders.forCustomer(orderId, token);
  }

  /**
   * Expires the attempt's session at Stripe and applies what Stripe then says of it (expired, or
   * completed meanwhile). An attempt whose session is not known yet is left to reconciliation.
   */
  async closeSession(paymentId: string): Promise<void> {
    const payment = await this.em.fork().findOne(Payment, paymentId);
    if (!payment?.sessionId || payment.isFinal) return;
    let session: CheckoutSession;
    try {
      session = await this.gateway.expireCheckout(payment.sessionId);
      this.logger.log({ orderId: payment.orderId, sessionId: session.id }, 'Checkout session expired');
    } catch (error) {
      if (!(error instanceof CheckoutNotOpenError)) throw error;
      session = await this.gateway.retrieveCheckout(payment.sessionId);
    }
    await this.outcomes.applySession(session, { kind: 'api', ref: session.id });
  }

  /** The request Stripe gets for an attempt: from the order, the attempt and shared configuration only. */
  checkoutRequest(order: PayableOrder, attempt: Payment): CheckoutRequest {
    // PUBLIC_URL is shared by every instance behind one address: what is sent under a key never
    // depends on which instance sends it.
    const base = this.config.publicUrl;
    const orderParam = encodeURIComponent(order.id);
    return {
      orderId: order.id,
      attemptId: attempt.id,
      customerEmail: order.customerEmail,
      lineItems: order.items.map((item) => ({
        name: item.name,
        unitPrice: item.unitPrice,
        quantity: item.quantity,
      })),
      // Stripe fills in {CHECKOUT_SESSION_ID} itself; it must stay literal.
      successUrl: `${base}/checkout/success?orderId=${orderParam}&session_id={CHECKOUT_SESSION_ID}`,
      cancelUrl: `${base}/checkout/cancel?orderId=${orderParam}`,
      expiresAt: attempt.expiresAt,
    };
  }

  /**
   * Under the order's lock (the customer's token checked): reuse the current attempt, open a new
   * one, or first close older sessions. One transaction of two statements, one round trip each:
   * the order (with its items) and its attempts, locked and read; then, with the commit, the new
   * attempt, the order's changes and their outbox rows. An attempt committed between the first
   * statement's snapshot and its lock makes the second write nothing (its gate), and the plan is
   * made again.
   */
  private async plan(orderId: string, token: string | undefined): Promise<Plan> {
    for (let round = 1; ; round++) {
      const plan = await this.transactions.run((tx) => this.planOnce(tx, orderId, token));
      if (plan !== 'stale') return plan;
      if (round === MAX_ROUNDS) throw new Error(`Checkout attempts of order ${orderId} kept changing`);
    }
  }

  private async planOnce(
    tx: SqlTransaction,
    orderId: string,
    token: string | undefined,
  ): Promise<Plan | 'stale'> {
    const now = new Date();
    // The order first, then its attempts (the order of every path that locks both).
    const [read] = await tx.query<{
      order: Record<string, unknown> | null;
      attempts: Record<string, unknown>[] | null;
    }>(
      sql`with locked_order as (${this.orders.lockForCustomerStatement(orderId)}),
        attempts as (${AttemptsInStatement.lockStatement(sql`(select id from locked_order)`)})
        select (select row_to_json(locked_order) from locked_order) as "order",
               (select json_agg(attempts order by attempts.attempt desc) from attempts) as attempts`,
    );
    const { order, inStatement } = this.orders.customerFromRow(read.order, token);
    if (!order.payable) throw new CheckoutNotAllowedError(order.status);
    const attempts = (read.attempts ?? []).map((row) => this.detached.fromRow(Payment, row));
    const latest = attempts.at(0);
    let payment = latest?.canServeCheckout(now) ? latest : undefined;
    const statement = new WriteStatement(AttemptsInStatement.unchangedStatement(orderId, attempts.length));
    const events: object[] = [];
    if (!payment) {
      const live = attempts.filter((attempt) => !attempt.isFinal);
      if (live.length > 0) return { kind: 'close-first', attempts: live };
      payment = new Payment(
        orderId,
        (latest?.attempt ?? 0) + 1,
        order.total,
        this.expiryFrom(now),
        new Date(now.getTime() + this.config.reconciliation.afterSeconds * 1000),
      );
      statement.add(insertOf(this.em, [payment], statement.when));
      events.push(...payment.pullDomainEvents());
    }
    // A failed order awaits payment again.
    inStatement.tell(
      new CheckoutStartedEvent(
        orderId,
        payment.id,
        { kind: 'api', ref: payment.sessionId ?? undefined },
        now,
      ),
    );
    events.push(...inStatement.write(statement));
    if (!(await this.outbox.commit(tx, statement, events))) return 'stale';
    return { kind: 'serve', order, payment };
  }

  private async serve(order: PayableOrder, attempt: Payment): Promise<CheckoutView> {
    if (attempt.status === PaymentStatus.Open && attempt.sessionId && attempt.url) {
      return { sessionId: attempt.sessionId, url: attempt.url, expiresAt: attempt.expiresAt };
    }
    let session: CheckoutSession;
    try {
      session = await this.gateway.createCheckout(
        this.checkoutRequest(order, attempt),
        attempt.idempotencyKey,
      );
    } catch (error) {
      // An answered error is final for this key: the attempt is over, the next click opens a new one.
      // No answer: the attempt stays `creating`, and the next click retries the same key.
      if (error instanceof PaymentProviderRefusedError) await this.markRefused(attempt.id, error);
      throw error;
    }
    const stillPayable = await this.transactions.run((tx) =>
      this.storeOpened(tx, order.id, attempt.id, session),
    );
    if (!stillPayable) {
      // Never handed to the customer; expired now (and by reconciliation, should this fail).
      this.logger.log(
        { orderId: order.id, sessionId: session.id },
        'Checkout session created for an order no longer payable: closing it',
      );
      await this.closeSession(attempt.id).catch((error: unknown) =>
        this.logger.warn(
          { orderId: order.id, err: (error as Error).message },
          'Could not close the session now',
        ),
      );
      const now = await this.orders.find(order.id);
      throw new CheckoutNotAllowedError(now?.status ?? 'gone');
    }
    this.logger.log(
      { orderId: order.id, sessionId: session.id, attempt: attempt.attempt },
      'Checkout session opened',
    );
    return { sessionId: session.id, url: session.url ?? '', expiresAt: attempt.expiresAt };
  }

  /**
   * Stores the session Stripe made for the attempt, re-checked under the order's lock (a
   * cancellation may have committed while Stripe worked): one transaction of two statements, the
   * order and the attempt locked and read, then the attempt (and the close request's outbox rows,
   * if the order is no longer payable) written with the commit. Whether the session may be handed
   * out.
   */
  private async storeOpened(
    tx: SqlTransaction,
    orderId: string,
    paymentId: string,
    session: CheckoutSession,
  ): Promise<boolean> {
    const [read] = await tx.query<{
      order: Record<string, unknown> | null;
      attempt: Record<string, unknown> | null;
    }>(
      sql`with locked_order as (${this.orders.lockStatement(sql`${orderId}::uuid`)}),
        locked_attempt as (select * from payments where id = ${paymentId} for update)
        select (select row_to_json(locked_order) from locked_order) as "order",
               (select row_to_json(locked_attempt) from locked_attempt) as attempt`,
    );
    if (!read.attempt) throw new Error(`Checkout attempt ${paymentId} is gone`);
    const payment = this.detached.fromRow(Payment, read.attempt);
    const attempts = new AttemptsInStatement([payment]);
    const locked = read.order ? this.orders.fromRow(read.order).state : null;
    payment.opened(session);
    const payable = locked?.payable === true && !payment.closeRequestedAt;
    if (!payable) payment.requestClose();
    // Both rows are locked: nothing can change them before the commit.
    const statement = new WriteStatement(sql`select true as ok`);
    await this.outbox.commit(tx, statement, attempts.write(statement));
    return payable;
  }

  /**
   * Closes attempts that could still take money before a new one opens. A session that completed
   * meanwhile is applied (the order may be paid now, and then no new session opens); one whose
   * creation never answered is asked again under its own key, to learn whether it exists.
   */
  private async closeBeforeNewAttempt(attempts: Payment[]): Promise<void> {
    for (const attempt of attempts) {
      if (attempt.status === PaymentStatus.Creating) await this.finishCreation(attempt.id);
      await this.em.transactional(async (em) => {
        const payment = await em.findOneOrFail(Payment, attempt.id, { lockMode: LockMode.PESSIMISTIC_WRITE });
        payment.requestClose();
      });
      await this.closeSession(attempt.id);
    }
  }

  /**
   * Repeats an unanswered creation with the attempt's own key: Stripe returns the session it made
   * (within 24 hours), or makes it now, or answers the error it stored. Used before a new attempt
   * opens and by reconciliation for attempts a crash left `creating`.
   */
  async finishCreation(paymentId: string): Promise<void> {
    const attempt = await this.em.fork().findOneOrFail(Payment, paymentId);
    if (attempt.status !== PaymentStatus.Creating) return;
    const order = await this.orders.find(attempt.orderId);
    if (!order) return;
    let session: CheckoutSession;
    try {
      session = await this.gateway.createCheckout(
        this.checkoutRequest(order, attempt),
        attempt.idempotencyKey,
      );
    } catch (error) {
      if (error instanceof PaymentProviderRefusedError) return this.markRefused(attempt.id, error);
      throw error;
    }
    await this.em.transactional(async (em) => {
      const current = await this.orders.lock(attempt.orderId);
      const payment = await em.findOneOrFail(Payment, attempt.id, {
        lockMode: LockMode.PESSIMISTIC_WRITE,
        refresh: true,
      });
      payment.opened(session);
      if (!current?.payable) payment.requestClose();
    });
  }

  private async markRefused(paymentId: string, error: PaymentProviderRefusedError): Promise<void> {
    await this.em.transactional(async (em) => {
      const payment = await em.findOneOrFail(Payment, paymentId, {
        lockMode: LockMode.PESSIMISTIC_WRITE,
        refresh: true,
      });
      payment.refused(`Stripe answered ${error.statusCode}: ${error.providerMessage}`);
    });
  }

  private expiryFrom(now: Date): Date {
    const lifetime = Math.max(this.config.checkoutExpiresMinutes * 60_000, MIN_EXPIRY_MS) + CREATION_GRACE_MS;
    // Whole seconds, as Stripe keeps it: what we store is exactly what Stripe enforces.
    return new Date(Math.floor((now.getTime() + Math.min(lifetime, MAX_EXPIRY_MS)) / 1000) * 1000);
  }
}
