/** Something about the order needs a person: an amount mismatch, money for a canceled order. */
export class OrderFlaggedForReviewEvent {
  static readonly eventName = 'orders.flagged_for_review';

  constructor(
    readonly orderId: string,
    readonly reason: string,
    readonly occurredAt: Date,
  ) {}
}
