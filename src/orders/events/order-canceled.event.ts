export class OrderCanceledEvent {
  static readonly eventName = 'orders.canceled';

  constructor(
    readonly orderId: string,
    readonly occurredAt: Date,
  ) {}
}
