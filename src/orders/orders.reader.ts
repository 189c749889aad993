import { LockMode } from '@mikro-orm/core';
import { EntityManager } from '@mikro-orm/postgresql';
import { Injectable } from '@nestjs/common';
import { isUUID } from 'class-validator';
import type { Money } from '../shared/money';
import { Order } from './order.entity';
import { OrderNotFoundError } from './order.errors';
import type { OrderStatus } from './order-status';

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

  private lockRow(orderId: string): Promise<Order | null> {
    if (!this.em.isInTransaction()) throw new Error('OrdersReader.lock() needs a transaction');
    // Ids from outside (Stripe metadata) may be anything; only a UUID can name an order.
    if (!isUUID(orderId)) return Promise.resolve(null);
    return this.em.findOne(Order, orderId, { lockMode: LockMode.PESSIMISTIC_WRITE });
  }
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

function stateOf(order: Order): Omit<OrderSnapshot, 'items'> {
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
