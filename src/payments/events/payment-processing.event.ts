import type { ChangeSource } from '../../shared/change-source';

/** Checkout completed with a delayed method (bank debit): the money is on its way. */
export class PaymentProcessingEvent {
  static readonly eventName = 'payments.processing';

  constructor(
    readonly orderId: string,
    readonly paymentId: string,
    readonly source: ChangeSource,
    readonly occurredAt: Date,
  ) {}
}
