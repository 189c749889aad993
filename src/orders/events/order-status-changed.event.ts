import type { OrderStatus } from '../order-status';

/** The order's status or its reason changed; what a customer's screen shows. */
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
