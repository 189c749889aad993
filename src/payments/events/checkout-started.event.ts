import type { TransitionSource } from '../../orders';

/** A checkout session is being opened (or reopened) for the order: it is awaiting payment again. */
export class CheckoutStartedEvent {
  static readonly eventName = 'payments.checkout_started';

  constructor(
    readonly orderId: string,
    readonly paymentId: string,
    readonly source: TransitionSource,
    readonly occurredAt: Date,
  ) {}
}
