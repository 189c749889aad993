import { BigIntType, Entity, Enum, Index, ManyToOne, PrimaryKey, Property } from '@mikro-orm/core';
import type { Order } from './order.entity';
import { OrderStatus, type TransitionSource, type TransitionSourceKind } from './order-status';

/**
 * One line of an order's transaction log: every transition, and every piece of news that changed
 * nothing (a decline after payment), with what caused it. Append-only.
 */
@Entity({ tableName: 'order_history' })
@Index({ properties: ['order', 'id'] })
export class OrderHistoryEntry {
  /** Ascending in the order entries were written, also within one transaction. */
  @PrimaryKey({ type: new BigIntType('number'), autoincrement: true })
  readonly id!: number;

  @ManyToOne({ entity: 'Order', deleteRule: 'cascade' })
  readonly order: Order;

  @Enum({ items: () => OrderStatus, nullable: true })
  readonly fromStatus: OrderStatus | null;

  @Enum({ items: () => OrderStatus })
  readonly toStatus: OrderStatus;

  @Property({ type: 'text' })
  readonly reason: string;

  @Property({ type: 'string', length: 32 })
  readonly sourceKind: TransitionSourceKind;

  @Property({ type: 'string', length: 255, nullable: true })
  readonly sourceRef: string | null;

  @Property({ type: 'datetime' })
  readonly occurredAt: Date;

  /** A note for staff only (ignored reports, reviews); customers see the other entries. */
  @Property({ type: 'boolean', default: false })
  readonly internal: boolean;

  constructor(
    order: Order,
    from: OrderStatus | null,
    to: OrderStatus,
    reason: string,
    source: TransitionSource,
    occurredAt: Date,
    internal = false,
  ) {
    this.order = order;
    this.fromStatus = from;
    this.toStatus = to;
    this.reason = reason;
    this.sourceKind = source.kind;
    this.sourceRef = source.ref ?? null;
    this.occurredAt = occurredAt;
    this.internal = internal;
  }
}
