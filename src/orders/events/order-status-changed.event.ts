import type { OrderStatus } from '../order-status';

/**
 * The order's status or its reason changed; what a customer's screen shows. A new order is announced
 * by `OrderPlacedEvent` (its status is pending), not by this: a follower gets the status it has when
 * it subscribes, and then every change.
 */
export class OrderStatusChangedEvent {
  static readonly eventName = 'orders.status_changed';

  constructor(
    readonly orderId: string,
    readonly status: OrderStatus,
    readonly previousStatus: OrderStatus | null,
    readonly reason: string | null,
    readonly updatedAt: Date,
  ) {}
}
