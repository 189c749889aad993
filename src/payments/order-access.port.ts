import type { Sql, WriteStatement } from '../shared/database/sql';
import type { Money } from '../shared/money';
import type { CheckoutStartedEvent } from './events/checkout-started.event';
import type { PaymentFailedEvent } from './events/payment-failed.event';
import type { PaymentNeedsReviewEvent } from './events/payment-needs-review.event';
import type { PaymentProcessingEvent } from './events/payment-processing.event';
import type { PaymentReportNotedEvent } from './events/payment-report-noted.event';
import type { PaymentSucceededEvent } from './events/payment-succeeded.event';

/** What the payments module needs to know of an order. */
export interface PayableOrder {
  id: string;
  /** The order's status, in the orders module's words (`pending`, `paid`, …). */
  status: string;
  /** Why the order is in its status, for the customer ("Your card was declined."). */
  reason: string | null;
  updatedAt: Date;
  /** Whether a checkout may take money for it now. */
  payable: boolean;
  customerEmail: string;
  total: Money;
  items: { name: string; quantity: number; unitPrice: Money }[];
}

/** An order as `lockState` reads it: all but its items. */
export type LockedOrder = Omit<PayableOrder, 'items'>;

/** What payments tells orders about a checkout attempt, inside the transaction that learned it. */
export type PaymentOutcomeEvent =
  | CheckoutStartedEvent
  | PaymentProcessingEvent
  | PaymentSucceededEvent
  | PaymentFailedEvent
  | PaymentNeedsReviewEvent
  | PaymentReportNotedEvent;

/**
 * An order read and row-locked by a statement of the caller's (`OrderAccess.lockStatement`), for a
 * transaction of explicit statements (the webhook's): payments decides on `state`, tells it what
 * happened (the orders module applies it with the same rules as its in-transaction listeners), and
 * writes its changes in its one write statement.
 */
export interface OrderInStatement {
  readonly state: LockedOrder;
  tell(event: PaymentOutcomeEvent): void;
  /** Writes the order's changes in the caller's write statement; returns the domain events they raised. */
  write(into: WriteStatement): object[];
}

/** An order read for its customer's checkout: what it is, and its changes for the write statement. */
export interface CustomerOrderInStatement {
  order: PayableOrder;
  inStatement: OrderInStatement;
}

/**
 * The payments module's port onto orders: owned here, implemented by the orders module, so that
 * payments never imports orders (orders listens to what payments publishes; the arrows run one way).
 */
export abstract class OrderAccess {
  /** The order `token` opens; a wrong or missing token fails exactly like an unknown order. */
  abstract forCustomer(orderId: string, token: string | undefined): Promise<PayableOrder>;
  /**
   * Reads the order and holds its row lock until the caller's transaction ends, so that whatever
   * the caller decides from it cannot race another change of the order. Null for no such order.
   */
  abstract lock(orderId: string): Promise<PayableOrder | null>;
  /** As `lock`, without reading the items: one statement less on every report from Stripe. */
  abstract lockState(orderId: string): Promise<LockedOrder | null>;
  /** The order as it stands, without a lock. */
  abstract find(orderId: string): Promise<PayableOrder | null>;
  /**
   * A select for the caller's own statement (one of its `with` list) that locks the order whose id
   * the SQL expression `orderId` yields and returns it as one row, for `fromRow`.
   */
  abstract lockStatement(orderId: Sql): Sql;
  /** The order in a row of `lockStatement` (its columns as JSON). */
  abstract fromRow(row: Record<string, unknown>): OrderInStatement;
  /**
   * A select for the caller's own statement (a checkout's) that locks the order `orderId` and
   * returns it with its items as one row, for `customerFromRow`. An id that cannot name an order
   * fails exactly like an unknown order.
   */
  abstract lockForCustomerStatement(orderId: string): Sql;
  /**
   * The order in a row of `lockForCustomerStatement` (null: none), if `token` opens it; a wrong or
   * missing token fails exactly like an unknown order (404).
   */
  abstract customerFromRow(
    row: Record<string, unknown> | null,
    token: string | undefined,
  ): CustomerOrderInStatement;
}
