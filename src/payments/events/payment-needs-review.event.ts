import type { ChangeSource } from '../../shared/change-source';

/** Something a person must look at: an amount or currency mismatch, a second payment. */
export class PaymentNeedsReviewEvent {
  static readonly eventName = 'payments.needs_review';

  constructor(
    readonly orderId: string,
    readonly reason: string,
    readonly source: ChangeSource,
    readonly occurredAt: Date,
  ) {}
}
