import type { OrderSnapshot, OrderStatus, OrderStatusChangedEvent } from '../orders';

/** Socket.IO event carrying an order's status: sent at once on subscribe, then on every change. */
export const ORDER_STATUS_EVENT = 'order.status';

/** The `order.status` payload. Built field by field: nothing else of the order leaves. */
export class OrderStatusMessage {
  orderId!: string;
  status!: OrderStatus;
  /** Why the order is in its status, for the customer ("Your card was declined."), or null. */
  reason!: string | null;
  /** ISO 8601. A client keeps the message with the latest `updatedAt` it has seen. */
  updatedAt!: string;

  static fromEvent(event: OrderStatusChangedEvent): OrderStatusMessage {
    return {
      orderId: event.orderId,
      status: event.status,
      reason: event.reason,
      updatedAt: event.updatedAt.toISOString(),
    };
  }

  static fromSnapshot(
    order: Pick<OrderSnapshot, 'id' | 'status' | 'reason' | 'updatedAt'>,
  ): OrderStatusMessage {
    return {
      orderId: order.id,
      status: order.status,
      reason: order.reason,
      updatedAt: order.updatedAt.toISOString(),
    };
  }
}
