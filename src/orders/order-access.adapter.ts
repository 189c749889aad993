import { Global, Injectable, Module } from '@nestjs/common';
import {
  type CustomerOrderInStatement,
  type LockedOrder,
  OrderAccess,
  type OrderInStatement,
  type PayableOrder,
} from '../payments';
import { DetachedEntities } from '../shared/database/detached-entities';
import type { Sql } from '../shared/database/sql';
import { lockForCustomerStatement, lockOrderStatement, OrderRowInStatement } from './order-in-statement';
import { Order } from './order.entity';
import { OrderNotFoundError } from './order.errors';
import { itemsOf, OrdersReader, type OrderSnapshot, stateOf, type StoredItem } from './orders.reader';

/** The payments module's `OrderAccess` port, answered from the orders module's read facade. */
@Injectable()
export class OrderAccessAdapter extends OrderAccess {
  constructor(
    private readonly reader: OrdersReader,
    private readonly detached: DetachedEntities,
  ) {
    super();
  }

  async forCustomer(orderId: string, token: string | undefined): Promise<PayableOrder> {
    return toPayable(await this.reader.getForCustomer(orderId, token));
  }

  async lock(orderId: string): Promise<PayableOrder | null> {
    const order = await this.reader.lock(orderId);
    return order && toPayable(order);
  }

  async lockState(orderId: string): Promise<LockedOrder | null> {
    const order = await this.reader.lockState(orderId);
    return order && { ...order, status: order.status };
  }

  async find(orderId: string): Promise<PayableOrder | null> {
    const order = await this.reader.find(orderId);
    return order && toPayable(order);
  }

  lockStatement(orderId: Sql): Sql {
    return lockOrderStatement(orderId);
  }

  fromRow(row: Record<string, unknown>): OrderInStatement {
    return new OrderRowInStatement(this.detached.fromRow(Order, row));
  }

  lockForCustomerStatement(orderId: string): Sql {
    return lockForCustomerStatement(orderId);
  }

  customerFromRow(row: Record<string, unknown> | null, token: string | undefined): CustomerOrderInStatement {
    if (!row) throw new OrderNotFoundError();
    const { items, ...columns } = row as { items: StoredItem[] };
    const order = this.detached.fromRow(Order, columns);
    if (!order.grantsAccess(token)) throw new OrderNotFoundError();
    return {
      order: toPayable({ ...stateOf(order), items: itemsOf(items) }),
      inStatement: new OrderRowInStatement(order),
    };
  }
}

function toPayable(order: OrderSnapshot): PayableOrder {
  return { ...order, status: order.status };
}

/**
 * Provides the port to the payments module without payments importing orders, and the orders
 * module's one `OrdersReader` (the port's adapter and the orders module share it).
 */
@Global()
@Module({
  providers: [OrdersReader, { provide: OrderAccess, useClass: OrderAccessAdapter }],
  exports: [OrderAccess, OrdersReader],
})
export class OrderAccessModule {}
