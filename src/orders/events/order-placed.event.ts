export class OrderPlacedEvent {
  static readonly eventName = 'orders.placed';

  constructor(
    readonly orderId: string,
    readonly totalAmount: number,
    readonly currency: string,
    readonly occurredAt: Date,
  ) {}
}
