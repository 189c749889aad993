import type { ChangeSource } from '../../shared/change-source';

/**
 * What has been given back for an order changed (a refund succeeded, or failed after succeeding).
 * Totals, not the change: the order's state follows from them however often it is told.
 */
export class RefundsChangedEvent {
  static readonly eventName = 'payments.refunds_changed';

  constructor(
    readonly orderId: string,
    readonly currency: string,
    /** All the money taken for the order (minor units). */
    readonly paidAmount: number,
    /** All the money given back so far (minor units). */
    readonly refundedAmount: number,
    readonly source: ChangeSource,
    readonly occurredAt: Date,
  ) {}
}
