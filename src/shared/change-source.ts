/** Who or what caused a change: an API call, a Stripe event, the success-page check, reconciliation. */
export type ChangeSourceKind = 'api' | 'webhook' | 'redirect' | 'reconciliation';

export interface ChangeSource {
  readonly kind: ChangeSourceKind;
  /** The Stripe event id, session id or similar, when there is one. */
  readonly ref?: string;
}
