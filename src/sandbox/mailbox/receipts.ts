import type Stripe from 'stripe';
import type { SandboxStore } from '../sandbox.store';

/** A receipt Stripe would have e-mailed, as the sandbox's mailbox shows it. */
export interface ReceiptEmail {
  /** `rcpt_<charge id>`. */
  id: string;
  to: string;
  from: string;
  subject: string;
  /** When the charge succeeded (Unix seconds): when Stripe sends the receipt. */
  sentAt: number;
  receiptNumber: string;
  amount: number;
  currency: string;
  chargeId: string;
  paymentIntentId: string;
  checkoutSessionId: string | null;
  /** "Visa •••• 4242", "STRIPE TEST BANK •••• 6789". */
  paymentMethod: string;
  lines: { description: string; quantity: number; amount: number }[];
}

/**
 * The receipts Stripe would have sent: one per successful charge whose PaymentIntent has a
 * `receipt_email`, newest first. Derived from the `charge.succeeded` events the sandbox already
 * keeps (no mailbox state of its own), so it lasts exactly as long as the event log.
 */
export function receiptEmails(store: SandboxStore): ReceiptEmail[] {
  return [...store.events.values()]
    .filter((event) => event.type === 'charge.succeeded')
    .flatMap((event) => {
      const charge = (event.json as { data?: { object?: Stripe.Charge } }).data?.object;
      if (!charge?.receipt_email || !charge.receipt_number) return [];
      const paymentIntentId =
        typeof charge.payment_intent === 'string' ? charge.payment_intent : (charge.payment_intent?.id ?? '');
      const session = [...store.sessions.values()].find((s) => s.paymentIntentId === paymentIntentId);
      const shop = session?.displayName ?? 'Stripe sandbox';
      return [
        {
          id: `rcpt_${charge.id}`,
          to: charge.receipt_email,
          from: `${shop} <receipts@stripe.com>`,
          subject: `Your receipt from ${shop} #${charge.receipt_number}`,
          sentAt: event.created,
          receiptNumber: charge.receipt_number,
          amount: charge.amount,
          currency: charge.currency,
          chargeId: charge.id,
          paymentIntentId,
          checkoutSessionId: session?.id ?? null,
          paymentMethod: paymentMethodLabel(charge.payment_method_details),
          lines: (session?.lineItems ?? []).map((item) => ({
            description: item.description,
            quantity: item.quantity,
            amount: item.amount,
          })),
        },
      ];
    })
    .reverse();
}

function paymentMethodLabel(details: Stripe.Charge.PaymentMethodDetails | null): string {
  if (details?.card) {
    const brand = details.card.brand ?? 'card';
    return `${brand.charAt(0).toUpperCase()}${brand.slice(1)} •••• ${details.card.last4}`;
  }
  if (details?.us_bank_account) {
    return `${details.us_bank_account.bank_name ?? 'Bank account'} •••• ${details.us_bank_account.last4}`;
  }
  return 'Payment method';
}
