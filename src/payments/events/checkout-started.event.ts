import type { ChangeSource } from '../../shared/change-source';

/** A checkout session is being opened (or reopened) for the order: it is awaiting payment again. */
export class CheckoutStartedEvent {
  static readonly eventName = 'payments.checkout_started';

  constructor(
    readonly orderId: string,
    readonly paymentId: string,
    readonly source: ChangeSource,
    readonly occurredAt: Date,
  ) {}
}
