import { Logger } from '@nestjs/common';
import type { EventLog, EventRequest } from '../sandbox.events';
import type { SandboxScheduler } from '../sandbox.scheduler';
import type { ChargeRecord, RefundRecord, SandboxStore } from '../sandbox.store';
import { StripeApiError } from '../stripe/stripe-error';
import { newId } from '../stripe/stripe-ids';
import { refundJson } from '../stripe/refund-dispute-objects';
import { chargeJson } from '../stripe/stripe-objects';
import { testCard } from '../stripe/test-payment-methods';
import type { DisputesService } from './disputes.service';

export interface NewRefund {
  charge: ChargeRecord;
  /** Absent: what is left to refund. */
  amount: number | undefined;
  reason: RefundRecord['reason'];
  metadata: Record<string, string>;
}

const SETTLE_JOB = 'refund.settle';

/** Why a refund of Stripe's refund-failure test card (4000 0000 0000 5126) fails. */
const TEST_CARD_REFUND_FAILURE = 'expired_or_canceled_card';

function refundError(message: string, code: string, param?: string): StripeApiError {
  return new StripeApiError(400, {
    type: 'invalid_request_error',
    code,
    doc_url: `https://stripe.com/docs/error-codes/${code.replace(/_/g, '-')}`,
    message,
    ...(param ? { param } : {}),
  });
}

/**
 * Refunds, full or partial, of a charge that succeeded: created `pending` (`refund.created`, and
 * `charge.refunded` with the charge's new `amount_refunded`), then, after the settlement delay on
 * the sandbox clock, `succeeded` (`refund.updated`), or, for Stripe's refund-failure test card,
 * `failed` (`refund.updated`, `refund.failed`), which gives the amount back to the charge.
 */
export class RefundsService {
  private readonly logger = new Logger('StripeSandbox');

  constructor(
    private readonly store: SandboxStore,
    private readonly scheduler: SandboxScheduler,
    private readonly events: EventLog,
    private readonly disputes: DisputesService,
    private readonly settings: { settlementSeconds: number },
  ) {
    // A durable job: a pending refund settles even across a restart of the sandbox.
    scheduler.define<{ refundId: string }>(SETTLE_JOB, ({ refundId }) => this.settle(refundId));
  }

  get(id: string): RefundRecord | undefined {
    return this.store.refunds.get(id);
  }

  /** Newest first. */
  list(filter: { chargeId?: string; paymentIntentId?: string }): RefundRecord[] {
    return [...this.store.refunds.values()]
      .filter((r) => filter.chargeId === undefined || r.chargeId === filter.chargeId)
      .filter((r) => filter.paymentIntentId === undefined || r.paymentIntentId === filter.paymentIntentId)
      .reverse();
  }

  create(input: NewRefund, request: EventRequest): RefundRecord {
    const { charge } = input;
    if (charge.status !== 'succeeded' || charge.captured === false) {
      throw refundError(
        `Charge ${charge.id} has not been captured and cannot be refunded; cancel its PaymentIntent instead.`,
        'charge_not_refundable',
      );
    }
    if (this.disputes.chargedBack(charge)) {
      throw refundError(
        `Charge ${charge.id} has been charged back; cannot issue a refund.`,
        'charge_disputed',
      );
    }
    const refunded = charge.amountRefunded ?? 0;
    const left = charge.amount - refunded;
    if (left <= 0) {
      throw refundError(`Charge ${charge.id} has already been refunded.`, 'charge_already_refunded');
    }
    const amount = input.amount ?? left;
    if (amount > left) {
      throw refundError(
        `Refund amount (${amount}) is greater than unrefunded amount on charge (${left})`,
        'amount_too_large',
        'amount',
      );
    }
    const refund: RefundRecord = {
      id: newId.refund(),
      created: this.scheduler.unixNow(),
      amount,
      currency: charge.currency,
      chargeId: charge.id,
      paymentIntentId: charge.paymentIntentId,
      reason: input.reason,
      metadata: input.metadata,
      status: 'pending',
      failureReason: null,
      balanceTransactionId: newId.balanceTransaction(),
      failureBalanceTransactionId: null,
    };
    this.store.refunds.set(refund.id, refund);
    charge.amountRefunded = refunded + amount;
    this.events.emit([
      { type: 'refund.created', object: refundJson(refund), request },
      { type: 'charge.refunded', object: chargeJson(charge), request },
    ]);
    this.logger.log(`Refund ${refund.id} of ${amount} ${refund.currency} on ${charge.id}: pending`);
    this.scheduler.scheduleDurable(this.settings.settlementSeconds * 1000, SETTLE_JOB, {
      refundId: refund.id,
    });
    return refund;
  }

  private settle(refundId: string): void {
    const refund = this.store.refunds.get(refundId);
    const charge = refund ? this.store.charges.get(refund.chargeId) : undefined;
    if (!refund || !charge || refund.status !== 'pending') return;
    if (testCard(charge.paymentMethod.testNumber ?? '').refundFails) {
      refund.status = 'failed';
      refund.failureReason = TEST_CARD_REFUND_FAILURE;
      refund.failureBalanceTransactionId = newId.balanceTransaction();
      charge.amountRefunded = (charge.amountRefunded ?? 0) - refund.amount;
      this.events.emit([
        { type: 'refund.updated', object: refundJson(refund) },
        { type: 'refund.failed', object: refundJson(refund) },
      ]);
      this.logger.log(`Refund ${refund.id}: failed (${TEST_CARD_REFUND_FAILURE})`);
      return;
    }
    refund.status = 'succeeded';
    this.events.emit([{ type: 'refund.updated', object: refundJson(refund) }]);
    this.logger.log(`Refund ${refund.id}: succeeded`);
  }
}
