import type { ChangeSource } from '../../shared/change-source';

/** The current attempt failed: declined card, failed settlement, or an expired session. */
export class PaymentFailedEvent {
  static readonly eventName = 'payments.failed';

  constructor(
    readonly orderId: string,
    readonly paymentId: string,
    /** For the customer: "Your card was declined.", "Checkout expired". */
    readonly reason: string,
    readonly source: ChangeSource,
    readonly occurredAt: Date,
  ) {}
}
