/**
 * An attempt's session must stop taking money (superseded, order canceled, or paid through another
 * attempt). Published after commit; the payments module expires the session at Stripe.
 */
export class CheckoutCloseRequestedEvent {
  static readonly eventName = 'payments.checkout_close_requested';

  constructor(
    readonly orderId: string,
    readonly paymentId: string,
    readonly occurredAt: Date,
  ) {}
}
