import { Logger } from '@nestjs/common';
import type { EventLog, NewEvent } from '../sandbox.events';
import type { SandboxScheduler } from '../sandbox.scheduler';
import type { ChargeRecord, DisputeRecord, SandboxStore } from '../sandbox.store';
import { invalidState } from '../stripe/stripe-error';
import { newId } from '../stripe/stripe-ids';
import { disputeJson } from '../stripe/refund-dispute-objects';

/** Stripe gives the merchant about a week (in test mode) to answer a dispute. */
const EVIDENCE_DAYS = 7;

const OPEN: DisputeRecord['status'][] = [
  'needs_response',
  'under_review',
  'warning_needs_response',
  'warning_under_review',
];

/**
 * Disputes, as Stripe's dispute test cards make them: a payment with 4000 0000 0000 0259 is
 * disputed as fraudulent right after it succeeds (a chargeback: the funds are withdrawn), one with
 * 4000 0000 0000 1976 gets an inquiry. Closing one (a sandbox control: Stripe decides it after the
 * merchant's evidence) sends `charge.dispute.updated` (evidence submitted) then
 * `charge.dispute.closed`, and `charge.dispute.funds_reinstated` for a chargeback that was won.
 */
export class DisputesService {
  private readonly logger = new Logger('StripeSandbox');

  constructor(
    private readonly store: SandboxStore,
    private readonly scheduler: SandboxScheduler,
    private readonly events: EventLog,
  ) {}

  get(id: string): DisputeRecord | undefined {
    return this.store.disputes.get(id);
  }

  /** Newest first. */
  list(filter: { chargeId?: string; paymentIntentId?: string }): DisputeRecord[] {
    return [...this.store.disputes.values()]
      .filter((d) => filter.chargeId === undefined || d.chargeId === filter.chargeId)
      .filter((d) => filter.paymentIntentId === undefined || d.paymentIntentId === filter.paymentIntentId)
      .reverse();
  }

  /** The cardholder disputes a charge that succeeded: the events to send after the payment's. */
  open(charge: ChargeRecord, kind: { reason: string; inquiry: boolean }): NewEvent[] {
    const created = this.scheduler.unixNow();
    const dispute: DisputeRecord = {
      id: newId.dispute(),
      created,
      amount: charge.amount,
      currency: charge.currency,
      chargeId: charge.id,
      paymentIntentId: charge.paymentIntentId,
      reason: kind.reason,
      inquiry: kind.inquiry,
      status: kind.inquiry ? 'warning_needs_response' : 'needs_response',
      evidenceDueBy: created + EVIDENCE_DAYS * 86_400,
      evidenceSubmitted: false,
      balanceTransactionIds: kind.inquiry ? [] : [newId.balanceTransaction()],
    };
    this.store.disputes.set(dispute.id, dispute);
    charge.disputeId = dispute.id;
    this.logger.log(
      `Dispute ${dispute.id} opened on ${charge.id} (${kind.inquiry ? 'inquiry' : 'chargeback'})`,
    );
    const events: NewEvent[] = [{ type: 'charge.dispute.created', object: disputeJson(dispute) }];
    if (!kind.inquiry) events.push({ type: 'charge.dispute.funds_withdrawn', object: disputeJson(dispute) });
    return events;
  }

  /** `POST /_sandbox/disputes/:id/close {"outcome"}`: the network's decision, after evidence. */
  close(dispute: DisputeRecord, outcome: 'won' | 'lost'): DisputeRecord {
    if (!OPEN.includes(dispute.status)) {
      throw invalidState(`This dispute is already closed (status \`${dispute.status}\`).`);
    }
    const events: NewEvent[] = [];
    if (dispute.status === 'needs_response' || dispute.status === 'warning_needs_response') {
      dispute.evidenceSubmitted = true;
      dispute.status = dispute.inquiry ? 'warning_under_review' : 'under_review';
      events.push({ type: 'charge.dispute.updated', object: disputeJson(dispute) });
    }
    dispute.status = outcome === 'lost' ? 'lost' : dispute.inquiry ? 'warning_closed' : 'won';
    events.push({ type: 'charge.dispute.closed', object: disputeJson(dispute) });
    if (outcome === 'won' && !dispute.inquiry) {
      dispute.balanceTransactionIds.push(newId.balanceTransaction());
      events.push({ type: 'charge.dispute.funds_reinstated', object: disputeJson(dispute) });
    }
    this.events.emit(events);
    this.logger.log(`Dispute ${dispute.id} closed: ${dispute.status}`);
    return dispute;
  }

  /** A charge that was charged back (not an inquiry) cannot be refunded any more. */
  chargedBack(charge: ChargeRecord): boolean {
    const dispute = charge.disputeId ? this.store.disputes.get(charge.disputeId) : undefined;
    return Boolean(dispute && !dispute.inquiry);
  }
}
