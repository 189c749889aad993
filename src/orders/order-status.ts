import type { ChangeSource, ChangeSourceKind } from '../shared/change-source';

export enum OrderStatus {
  /** Placed, awaiting payment (also after a failed attempt, once a new checkout starts). */
  Pending = 'pending',
  /** The customer completed checkout with a delayed method (bank debit); settlement is awaited. */
  Processing = 'processing',
  /** Money confirmed. Absorbing: nothing moves an order out of it. */
  Paid = 'paid',
  /** The last attempt failed (decline, expiry, failed settlement); a later success still counts. */
  Failed = 'failed',
  /** Canceled before payment. Final. */
  Canceled = 'canceled',
  /** Paid, then part of the money given back (refunds). More refunds may follow. */
  PartiallyRefunded = 'partially_refunded',
  /** Paid, then all of the money given back. */
  Refunded = 'refunded',
}

/** Money was taken for the order (and may since have been given back in part or whole). */
export const SETTLED: ReadonlySet<OrderStatus> = new Set([
  OrderStatus.Paid,
  OrderStatus.PartiallyRefunded,
  OrderStatus.Refunded,
]);

/** Where a dispute (chargeback) about the order's payment stands, when there is one. */
export type DisputeState = 'open' | 'won' | 'lost';

/** What caused a transition (shared vocabulary: payments reports its changes with the same type). */
export type TransitionSource = ChangeSource;
export type TransitionSourceKind = ChangeSourceKind;

/** Reasons shown with a status, where the status alone does not say it. */
export const REASONS = {
  paid: 'Payment confirmed',
  processing: 'Payment processing: awaiting bank settlement',
} as const;
