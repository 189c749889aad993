import type Stripe from 'stripe';
import type { DisputeRecord, RefundRecord } from '../sandbox.store';

/* Refunds and disputes → the JSON Stripe sends (API version 2026-10-28.endive), typed by stripe-node. */

export function refundJson(refund: RefundRecord): Stripe.Refund {
  return {
    id: refund.id,
    object: 'refund',
    amount: refund.amount,
    balance_transaction: refund.balanceTransactionId,
    charge: refund.chargeId,
    created: refund.created,
    currency: refund.currency,
    customer: null,
    customer_account: null,
    destination_details: {
      card: { reference_status: 'pending', reference_type: 'acquirer_reference_number', type: 'refund' },
      type: 'card',
    },
    ...(refund.failureBalanceTransactionId
      ? { failure_balance_transaction: refund.failureBalanceTransactionId }
      : {}),
    ...(refund.failureReason ? { failure_reason: refund.failureReason } : {}),
    metadata: { ...refund.metadata },
    payment_intent: refund.paymentIntentId,
    payment_method: null,
    reason: refund.reason,
    receipt_number: null,
    source_transfer_reversal: null,
    status: refund.status,
    transfer_reversal: null,
  };
}

const NO_EVIDENCE = {
  access_activity_log: null,
  billing_address: null,
  cancellation_policy: null,
  cancellation_policy_disclosure: null,
  cancellation_rebuttal: null,
  customer_communication: null,
  customer_email_address: null,
  customer_name: null,
  customer_purchase_ip: null,
  customer_signature: null,
  duplicate_charge_documentation: null,
  duplicate_charge_explanation: null,
  duplicate_charge_id: null,
  enhanced_evidence: {},
  product_description: null,
  receipt: null,
  refund_policy: null,
  refund_policy_disclosure: null,
  refund_refusal_explanation: null,
  service_date: null,
  service_documentation: null,
  shipping_address: null,
  shipping_carrier: null,
  shipping_date: null,
  shipping_documentation: null,
  shipping_tracking_number: null,
  uncategorized_file: null,
  uncategorized_text: null,
} satisfies Stripe.Dispute.Evidence;

export function disputeJson(dispute: DisputeRecord): Stripe.Dispute {
  const open = ['needs_response', 'warning_needs_response'].includes(dispute.status);
  return {
    id: dispute.id,
    object: 'dispute',
    amount: dispute.amount,
    // The sandbox keeps no balance: the ids of the withdrawal (and reinstatement) are all it has.
    balance_transactions: [],
    charge: dispute.chargeId,
    created: dispute.created,
    currency: dispute.currency,
    enhanced_eligibility_types: [],
    evidence: {
      ...NO_EVIDENCE,
      ...(dispute.evidenceSubmitted ? { uncategorized_text: 'Submitted through the sandbox control.' } : {}),
    },
    evidence_details: {
      due_by: open ? dispute.evidenceDueBy : null,
      enhanced_eligibility: {},
      has_evidence: dispute.evidenceSubmitted,
      past_due: false,
      submission_count: dispute.evidenceSubmitted ? 1 : 0,
      submission_method: dispute.evidenceSubmitted ? 'manual' : 'not_submitted',
    },
    intended_submission_method: null,
    is_charge_refundable: dispute.inquiry,
    livemode: false,
    metadata: {},
    network_reason_code: '10.4',
    payment_intent: dispute.paymentIntentId,
    payment_method_details: {
      card: {
        brand: 'visa',
        case_type: dispute.inquiry ? 'inquiry' : 'chargeback',
        network: 'visa',
        network_reason_code: '10.4',
      },
      type: 'card',
    },
    reason: dispute.reason,
    status: dispute.status,
  };
}
