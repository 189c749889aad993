import type { ChangeSource } from '../../shared/change-source';

/**
 * An authentic report from Stripe about the order that changes nothing (outdated, or about an
 * attempt that was superseded): kept in the order's history, for staff.
 */
export class PaymentReportNotedEvent {
  static readonly eventName = 'payments.report_noted';

  constructor(
    readonly orderId: string,
    readonly description: string,
    readonly source: ChangeSource,
    readonly occurredAt: Date,
  ) {}
}
