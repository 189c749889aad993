/** The order is paid (once: `paid` is final). What fulfilment, accounting and the like react to. */
export class OrderPaidEvent {
  static readonly eventName = 'orders.paid';

  constructor(
    readonly orderId: string,
    readonly amount: number,
    readonly currency: string,
    readonly paidAt: Date,
  ) {}
}
