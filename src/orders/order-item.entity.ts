import { randomUUID } from 'node:crypto';
import { Check, Embedded, Entity, Index, ManyToOne, PrimaryKey, Property } from '@mikro-orm/core';
import { Money } from '../shared/money';
import type { Order } from './order.entity';

/** One line of an order, priced when the order was placed (later catalog changes do not touch it). */
@Entity({ tableName: 'order_items' })
@Index({ name: 'order_items_order_id_index', properties: ['order'] })
@Check({ name: 'order_items_quantity_check', expression: 'quantity > 0' })
@Check({ name: 'order_items_unit_amount_check', expression: 'unit_amount >= 0' })
export class OrderItem {
  @PrimaryKey({ type: 'uuid' })
  readonly id: string = randomUUID();

  @ManyToOne({ entity: 'Order', deleteRule: 'cascade' })
  readonly order: Order;

  @Property({ type: 'uuid' })
  readonly productId: string;

  @Property({ type: 'string', length: 200 })
  readonly name: string;

  @Property({ type: 'integer' })
  readonly quantity: number;

  @Embedded(() => Money, { prefix: 'unit_' })
  readonly unitPrice: Money;

  @Property({ type: 'smallint' })
  readonly position: number;

  constructor(
    order: Order,
    position: number,
    productId: string,
    name: string,
    unitPrice: Money,
    quantity: number,
  ) {
    this.order = order;
    this.position = position;
    this.productId = productId;
    this.name = name;
    this.unitPrice = unitPrice;
    this.quantity = quantity;
  }

  get lineTotal(): Money {
    return this.unitPrice.times(this.quantity);
  }
}
