import { isUUID } from 'class-validator';
import type { LockedOrder, OrderInStatement, PaymentOutcomeEvent } from '../payments';
import { Sql, sql, type WriteStatement } from '../shared/database/sql';
import type { Order } from './order.entity';
import { OrderNotFoundError } from './order.errors';
import { stateOf } from './orders.reader';
import { applyPaymentOutcome } from './payment-outcomes';

/** What a decision on a payment needs of an order, and what its rules change (not its token hash). */
const COLUMNS = Sql.raw(
  'id, customer_email, status, status_reason, total_amount, total_currency, needs_review, review_reason, refunded_amount, dispute_state, created_at, updated_at',
);

/** Locks the order whose id `orderId` (an SQL expression) yields, for a statement of the caller's. */
export function lockOrderStatement(orderId: Sql): Sql {
  return sql`select ${COLUMNS} from orders where id = ${orderId} for update`;
}

/**
 * Locks the order `orderId` for its customer's checkout, for a statement of the caller's: one row
 * of all its columns (the token's hash too) and its items as JSON, in their order. Only a UUID can
 * name an order: another id fails like an unknown order.
 */
export function lockForCustomerStatement(orderId: string): Sql {
  if (!isUUID(orderId)) throw new OrderNotFoundError();
  return sql`select o.*,
      coalesce((select json_agg(json_build_object('name', i.name, 'quantity', i.quantity,
                  'amount', i.unit_amount, 'currency', i.unit_currency) order by i.position)
                  from order_items i where i.order_id = o.id), '[]') as items
    from orders o where o.id = ${orderId} for update of o`;
}

/**
 * An order read by `lockOrderStatement` (hydrated outside any unit of work): payment outcomes are
 * applied by the same rules as `PaymentOutcomeListener`, and its changes written as explicit
 * statements: the order's row, and one history row per entry its methods added.
 */
export class OrderRowInStatement implements OrderInStatement {
  readonly state: LockedOrder;
  private readonly before: string;

  constructor(private readonly order: Order) {
    this.state = stateOf(order);
    this.before = fingerprint(order);
  }

  tell(event: PaymentOutcomeEvent): void {
    applyPaymentOutcome(this.order, event);
  }

  write(into: WriteStatement): object[] {
    const order = this.order;
    if (fingerprint(order) !== this.before) {
      into.add(sql`update orders
         set status = ${order.status}, status_reason = ${order.statusReason},
             needs_review = ${order.needsReview}, review_reason = ${order.reviewReason},
             refunded_amount = ${order.refunded.amount}, dispute_state = ${order.disputeState},
             updated_at = ${order.updatedAt}
       where id = ${order.id} and ${into.when}`);
    }
    // The collection was never loaded: what it holds is what the rules added, in order.
    const entries = order.history.getItems(false);
    if (entries.length > 0) {
      // One insert, its rows in the order they were written (ids ascending, as the log reads).
      const rows = entries.map(
        (entry) =>
          sql`(${order.id}::uuid, ${entry.fromStatus}::text, ${entry.toStatus}::text, ${entry.reason}::text,
               ${entry.sourceKind}::text, ${entry.sourceRef}::text, ${entry.occurredAt}::timestamptz, ${entry.internal}::boolean)`,
      );
      into.add(sql`insert into order_history
          (order_id, from_status, to_status, reason, source_kind, source_ref, occurred_at, internal)
        select * from (values ${Sql.join(rows, ', ')}) as entry where ${into.when}`);
    }
    return order.pullDomainEvents();
  }
}

function fingerprint(order: Order): string {
  return JSON.stringify([
    order.status,
    order.statusReason,
    order.needsReview,
    order.reviewReason,
    order.refunded.amount,
    order.disputeState,
    order.updatedAt.getTime(),
  ]);
}
