import type { TransitionSource } from '../../orders';

/** Something a person must look at: an amount or currency mismatch, a second payment. */
export class PaymentNeedsReviewEvent {
  static readonly eventName = 'payments.needs_review';

  constructor(
    readonly orderId: string,
    readonly reason: string,
    readonly source: TransitionSource,
    readonly occurredAt: Date,
  ) {}
}
