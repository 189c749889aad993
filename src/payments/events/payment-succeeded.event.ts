import type { ChangeSource } from '../../shared/change-source';

/** Money confirmed for the order, for exactly its amount and currency. */
export class PaymentSucceededEvent {
  static readonly eventName = 'payments.succeeded';

  constructor(
    readonly orderId: string,
    readonly paymentId: string,
    readonly amount: number,
    readonly currency: string,
    readonly source: ChangeSource,
    readonly occurredAt: Date,
  ) {}
}
