import type { SqlBatch } from '../shared/database/explicit-sql';
import type { Money } from '../shared/money';

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
  /**
   * As `lock`, for the customer holding `token` (a checkout), in one statement; a wrong or missing
   * token fails exactly like an unknown order (404), and an unknown order too. With a `batch`, the
   * statement goes with the batch (the caller runs it).
   */
  abstract lockForCustomer(
    orderId: string,
    token: string | undefined,
    batch?: SqlBatch,
  ): Promise<PayableOrder>;
  /** As `lock`, without reading the items: one statement less on every report from Stripe. */
  abstract lockState(orderId: string, batch?: SqlBatch): Promise<LockedOrder | null>;
  /** The order as it stands, without a lock. */
  abstract find(orderId: string): Promise<PayableOrder | null>;
}
