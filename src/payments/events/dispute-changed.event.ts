import type { ChangeSource } from '../../shared/change-source';

/** A dispute about one of the order's payments opened, moved or closed. */
export class DisputeChangedEvent {
  static readonly eventName = 'payments.dispute_changed';

  constructor(
    readonly orderId: string,
    readonly state: 'open' | 'won' | 'lost',
    /** For the order's history (staff): "Dispute opened: fraudulent, $50.00, evidence due …". */
    readonly description: string,
    readonly source: ChangeSource,
    readonly occurredAt: Date,
  ) {}
}
