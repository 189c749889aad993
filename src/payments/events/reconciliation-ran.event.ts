/** A reconciliation run finished: how many attempts it asked Stripe about, and what it found. */
export class ReconciliationRanEvent {
  static readonly eventName = 'payments.reconciliation_ran';

  constructor(
    readonly checked: number,
    /** Attempts where Stripe's answer changed something (applied, closed, abandoned). */
    readonly findings: number,
    readonly failed: number,
    readonly occurredAt: Date,
  ) {}
}
