import type { TransitionSource } from '../../orders';

/** Authentic news about the order that changes nothing (superseded or late); kept for the record. */
export class PaymentNewsIgnoredEvent {
  static readonly eventName = 'payments.news_ignored';

  constructor(
    readonly orderId: string,
    readonly description: string,
    readonly source: TransitionSource,
    readonly occurredAt: Date,
  ) {}
}
