import { EntityManager } from '@mikro-orm/postgresql';
import { Injectable } from '@nestjs/common';
import { isUUID } from 'class-validator';
import { execute, hydrate } from '../shared/database/explicit-sql';
import { Sql } from '../shared/database/sql';
import { Money } from '../shared/money';
import { Order } from './order.entity';
import { OrderNotFoundError } from './order.errors';
import type { DisputeState, OrderStatus, TransitionSourceKind } from './order-status';

/** What another module may know of an order. */
export interface OrderSnapshot {
  id: string;
  status: OrderStatus;
  /** Why the order is in its status, for the customer ("Your card was declined."). */
  reason: string | null;
  updatedAt: Date;
  payable: boolean;
  customerEmail: string;
  total: Money;
  items: { name: string; quantity: number; unitPrice: Money }[];
}

/** An order as staff list it. */
export interface OrderSummary {
  id: string;
  status: OrderStatus;
  reason: string | null;
  customerEmail: string;
  total: Money;
  refunded: Money;
  needsReview: boolean;
  disputeState: DisputeState | null;
  createdAt: Date;
  updatedAt: Date;
}

/** An order as staff see it: everything, internal notes included. */
export interface OrderRecord extends OrderSummary {
  reviewReason: string | null;
  items: { productId: string; name: string; quantity: number; unitPrice: Money }[];
  history: {
    from: OrderStatus | null;
    to: OrderStatus;
    reason: string;
    source: TransitionSourceKind;
    sourceRef: string | null;
    /** A note for staff only (the customer's history leaves it out). */
    internal: boolean;
    occurredAt: Date;
  }[];
}

export interface OrderSearch {
  status?: OrderStatus;
  /** Part of the customer's e-mail, any case. */
  email?: string;
  createdFrom?: Date;
  createdTo?: Date;
  minAmount?: number;
  maxAmount?: number;
  /** Keyset: orders created before this one (newest first). */
  after?: { createdAt: Date; id: string };
  limit: number;
}

/** The orders module's read facade. */
@Injectable()
export class OrdersReader {
  constructor(private readonly em: EntityManager) {}

  /** The order `token` opens; a wrong or missing token is answered like an unknown order (404). */
  async getForCustomer(orderId: string, token: string | undefined): Promise<OrderSnapshot> {
    const order = await this.em.findOne(Order, orderId, { populate: ['items'] });
    if (!order?.grantsAccess(token)) throw new OrderNotFoundError();
    return snapshot(order);
  }

  /** The order as it stands, or null. */
  async find(orderId: string): Promise<OrderSnapshot | null> {
    if (!isUUID(orderId)) return null;
    const order = await this.em.findOne(Order, orderId, { populate: ['items'] });
    return order && snapshot(order);
  }

  /** Where each of these orders stands (those that exist; ids that are not UUIDs name none). */
  async statesOf(orderIds: readonly string[]): Promise<Omit<OrderSnapshot, 'items'>[]> {
    const ids = orderIds.filter((id) => isUUID(id));
    if (ids.length === 0) return [];
    const orders = await this.em.find(Order, { id: { $in: ids } });
    return orders.map(stateOf);
  }

  /**
   * Reads the order and holds its row lock until the caller's transaction ends, so that whatever the
   * caller decides from it cannot race another change of the same order. Must run in a transaction.
   */
  async lock(orderId: string): Promise<OrderSnapshot | null> {
    const order = await this.lockRow(orderId);
    if (!order) return null;
    await this.em.populate(order, ['items']);
    return snapshot(order);
  }

  /** As `lock`, without the items (what deciding on a payment needs): one statement. */
  async lockState(orderId: string): Promise<Omit<OrderSnapshot, 'items'> | null> {
    const order = await this.lockRow(orderId);
    return order && stateOf(order);
  }

  /** The order's row, locked (explicit SQL: the ORM's lookup costs several times the statement). */
  private async lockRow(orderId: string): Promise<Order | null> {
    this.assertInTransaction();
    // Ids from outside (Stripe metadata) may be anything; only a UUID can name an order.
    if (!isUUID(orderId)) return null;
    const [row] = await execute(
      this.em,
      Sql.withValues('select * from orders where id = ? for update', [orderId]),
    );
    return row ? hydrate(this.em, Order, row) : null;
  }

  private assertInTransaction(): void {
    if (!this.em.isInTransaction()) throw new Error('OrdersReader.lock() needs a transaction');
  }

  /** Staff's order search, newest first. */
  async search(query: OrderSearch): Promise<OrderSummary[]> {
    const created = {
      ...(query.createdFrom ? { $gte: query.createdFrom } : {}),
      ...(query.createdTo ? { $lt: query.createdTo } : {}),
    };
    const amount = {
      ...(query.minAmount !== undefined ? { $gte: query.minAmount } : {}),
      ...(query.maxAmount !== undefined ? { $lte: query.maxAmount } : {}),
    };
    const orders = await this.em.fork().find(
      Order,
      {
        $and: [
          query.status ? { status: query.status } : {},
          query.email
            ? { customerEmail: { $ilike: `%${escapeLike(query.email.trim().toLowerCase())}%` } }
            : {},
          Object.keys(created).length ? { createdAt: created } : {},
          Object.keys(amount).length ? { total: { amount } } : {},
          query.after
            ? {
                $or: [
                  { createdAt: { $lt: query.after.createdAt } },
                  { createdAt: query.after.createdAt, id: { $lt: query.after.id } },
                ],
              }
            : {},
        ],
      },
      { orderBy: { createdAt: 'desc', id: 'desc' }, limit: query.limit },
    );
    return orders.map(summary);
  }

  /** The whole order for staff: items and every history entry; null if there is no such order. */
  async record(orderId: string): Promise<OrderRecord | null> {
    const order = await this.em.fork().findOne(Order, orderId, { populate: ['items', 'history'] });
    if (!order) return null;
    return {
      ...summary(order),
      reviewReason: order.reviewReason,
      items: order.items.getItems().map((item) => ({
        productId: item.productId,
        name: item.name,
        quantity: item.quantity,
        unitPrice: item.unitPrice,
      })),
      history: order.history.getItems().map((entry) => ({
        from: entry.fromStatus,
        to: entry.toStatus,
        reason: entry.reason,
        source: entry.sourceKind,
        sourceRef: entry.sourceRef,
        internal: entry.internal,
        occurredAt: entry.occurredAt,
      })),
    };
  }

  /** Counts for the staff dashboard: orders paid since `since` and their total, per currency. */
  async paidSince(since: Date): Promise<{ currency: string; orders: number; amount: number }[]> {
    return this.em
      .fork()
      .getConnection()
      .execute<{ currency: string; orders: number; amount: number }[]>(
        `select o.total_currency as currency, count(*)::int as orders, sum(o.total_amount)::int as amount
           from orders o
          where exists (select 1 from order_history h
                         where h.order_id = o.id and h.to_status = 'paid' and h.from_status <> 'paid'
                           and h.occurred_at >= ?)
          group by o.total_currency order by o.total_currency`,
        [since],
      );
  }
}

/** An order item as `lockForCustomerStatement` reads it (JSON). */
export interface StoredItem {
  name: string;
  quantity: number;
  amount: number;
  currency: string;
}

/** The items of an order as a snapshot gives them, from their stored JSON. */
export function itemsOf(items: readonly StoredItem[]): OrderSnapshot['items'] {
  return items.map((item) => ({
    name: item.name,
    quantity: item.quantity,
    unitPrice: Money.of(item.amount, item.currency),
  }));
}

function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, (c) => `\\${c}`);
}

function summary(order: Order): OrderSummary {
  return {
    id: order.id,
    status: order.status,
    reason: order.statusReason,
    customerEmail: order.customerEmail,
    total: order.total,
    refunded: order.refunded,
    needsReview: order.needsReview,
    disputeState: order.disputeState,
    createdAt: order.createdAt,
    updatedAt: order.updatedAt,
  };
}

function snapshot(order: Order): OrderSnapshot {
  return {
    ...stateOf(order),
    items: order.items.getItems().map((item) => ({
      name: item.name,
      quantity: item.quantity,
      unitPrice: item.unitPrice,
    })),
  };
}

/** The order without its items, as `lockState` gives it. */
export function stateOf(order: Order): Omit<OrderSnapshot, 'items'> {
  return {
    id: order.id,
    status: order.status,
    reason: order.statusReason,
    updatedAt: order.updatedAt,
    payable: order.isPayable,
    customerEmail: order.customerEmail,
    total: order.total,
  };
}
