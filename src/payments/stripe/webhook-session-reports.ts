import { Injectable, Logger } from '@nestjs/common';
import { isUUID } from 'class-validator';
import type { ChangeSource } from '../../shared/change-source';
import { DetachedEntities } from '../../shared/database/detached-entities';
import { type Sql, sql, WriteStatement } from '../../shared/database/sql';
import { type SqlTransaction, SqlTransactions } from '../../shared/database/sql-transactions';
import { OutboxWriter } from '../../shared/outbox';
import { AttemptsInStatement } from '../attempt-statements';
import {
  CheckoutOutcomes,
  type Outcome,
  type ReportScope,
  reportOfEvent,
  type SessionReportEvent,
  unknownSession,
} from '../checkout-outcomes.service';
import { OrderAccess, type OrderInStatement } from '../order-access.port';
import { Payment } from '../payment.entity';
import type { ReviewItem } from '../review/review-item.entity';
import { ReviewQueue } from '../review/review-queue';
import { WebhookLedger } from './webhook-ledger';

/** What the reading statement returns. */
interface Snapshot {
  /** 1: this delivery is the first, and applies the event; more: a duplicate. */
  deliveries: number;
  /** The attempt the report is about (columns as JSON), if any. */
  known: Record<string, unknown> | null;
  /** Its order, locked, if it has one. */
  order: Record<string, unknown> | null;
  /** All attempts of that order, locked, newest first. */
  attempts: Record<string, unknown>[] | null;
}

/** Times a delivery is decided again because an attempt appeared under it (then Stripe retries). */
const MAX_TRIES = 3;

export type SessionReportReceipt = Outcome | { outcome: 'duplicate'; orderId: null; detail: string };

/**
 * Stripe's reports about a Checkout Session (completed, settled, failed, expired), the bulk of the
 * webhook traffic, in one transaction of two statements, each one round trip:
 *
 * 1. with `BEGIN`: claim the ledger row; if this delivery is the first, find the attempt, lock its
 *    order and all of its attempts, and return them;
 * 2. with `COMMIT`: write the attempts that changed, the order and its history rows, review items,
 *    the ledger's outcome and the outbox rows for every durable subscriber.
 *
 * Between the two, the decision is made by the same rules as everywhere
 * (`CheckoutOutcomes.decideSessionReport`, the entities' methods, the orders module's
 * `applyPaymentOutcome`), on entities read from the first statement, outside any unit of work. A
 * duplicate is answered by the first statement alone (and the commit of its delivery count).
 */
@Injectable()
export class WebhookSessionReports {
  private readonly logger = new Logger(WebhookSessionReports.name);

  constructor(
    private readonly transactions: SqlTransactions,
    private readonly detached: DetachedEntities,
    private readonly ledger: WebhookLedger,
    private readonly outcomes: CheckoutOutcomes,
    private readonly orders: OrderAccess,
    private readonly reviews: ReviewQueue,
    private readonly outbox: OutboxWriter,
  ) {}

  async receive(event: SessionReportEvent): Promise<SessionReportReceipt> {
    for (let attempt = 1; ; attempt++) {
      const result = await this.transactions.run((tx) => this.once(tx, event));
      if (result !== 'stale') return result;
      if (attempt === MAX_TRIES)
        throw new Error(`Checkout attempts of the order kept changing under ${event.id}`);
      this.logger.log({ stripeEventId: event.id }, 'A checkout attempt appeared meanwhile: deciding again');
    }
  }

  private async once(tx: SqlTransaction, event: SessionReportEvent): Promise<SessionReportReceipt | 'stale'> {
    const source: ChangeSource = { kind: 'webhook', ref: event.id };
    const [snapshot] = await tx.query<Snapshot>(this.readStatement(event));
    if (snapshot.deliveries !== 1) {
      await tx.commit();
      return { outcome: 'duplicate', orderId: null, detail: 'delivered before' };
    }
    if (!snapshot.known) return this.finish(tx, event, unknownSession(event.session));

    const attempts = (snapshot.attempts ?? []).map((row) => this.detached.fromRow(Payment, row));
    // Before any rule changes them: what `write` compares with.
    const read = new AttemptsInStatement(attempts);
    const knownId = snapshot.known.id as string;
    const order = snapshot.order ? this.orders.fromRow(snapshot.order) : null;
    const payment =
      attempts.find((candidate) => candidate.id === knownId) ??
      (order ? null : this.detached.fromRow(Payment, snapshot.known));
    if (!payment) throw new Error(`Checkout attempt ${knownId} vanished from its order`);

    const raised: ReviewItem[] = [];
    const scope: ReportScope = {
      payment,
      attempts,
      order: order?.state ?? null,
      tellOrders: (outcome) => {
        if (!order) throw new Error(`No order to tell about attempt ${payment.id}`);
        order.tell(outcome);
      },
      openReview: (kind, orderId, reason, sourceRef) => {
        raised.push(this.reviews.raise(kind, orderId, reason, sourceRef));
      },
    };
    const decided = await this.outcomes.decideSessionReport(
      reportOfEvent(event),
      event.session,
      scope,
      source,
    );
    if (!order) return this.finish(tx, event, decided);
    return this.write(tx, event, decided, read, order, raised);
  }

  /**
   * The ledger claim, then (for a first delivery) the attempt the session is about, by the
   * session's id, else by the attempt id we tagged it with; its order, locked; then all of the
   * order's attempts, locked (in that order, as checkout locks them).
   */
  private readStatement(event: SessionReportEvent): Sql {
    const { session } = event;
    const attemptId = session.attemptId && isUUID(session.attemptId) ? session.attemptId : null;
    return sql`with claim as (${this.ledger.claimStatement(event.id, event.providerType)}),
      known as (
        select * from payments
         where (select deliveries from claim) = 1
           and (session_id = ${session.id} or id = ${attemptId}::uuid)
         order by (session_id = ${session.id}) is true desc
         limit 1),
      locked_order as (${this.orders.lockStatement(sql`(select order_id from known)`)}),
      attempts as (${AttemptsInStatement.lockStatement(sql`(select id from locked_order)`)})
      select (select deliveries from claim) as deliveries,
             (select row_to_json(known) from known) as known,
             (select row_to_json(locked_order) from locked_order) as "order",
             (select json_agg(attempts order by attempts.attempt desc) from attempts) as attempts`;
  }

  /**
   * One statement, sent with the commit: everything the decision changed, each write by the module
   * that owns its table; or nothing, if an attempt appeared under the order (`stale`).
   */
  private async write(
    tx: SqlTransaction,
    event: SessionReportEvent,
    decided: Outcome,
    attempts: AttemptsInStatement,
    order: OrderInStatement,
    raised: ReviewItem[],
  ): Promise<SessionReportReceipt | 'stale'> {
    const statement = new WriteStatement(
      AttemptsInStatement.unchangedStatement(order.state.id, attempts.attempts.length),
    );
    const events = [...attempts.write(statement), ...order.write(statement)];
    this.reviews.write(statement, raised);
    this.ledger.writeRecord(statement, event.id, decided.outcome, decided.orderId, decided.detail);
    if (!(await this.outbox.commit(tx, statement, events))) return 'stale';
    return decided;
  }

  /** An outcome that changes nothing but the ledger row. */
  private async finish(tx: SqlTransaction, event: SessionReportEvent, decided: Outcome): Promise<Outcome> {
    const statement = new WriteStatement(sql`select true as ok`);
    this.ledger.writeRecord(statement, event.id, decided.outcome, decided.orderId, decided.detail);
    await this.outbox.commit(tx, statement, []);
    return decided;
  }
}
