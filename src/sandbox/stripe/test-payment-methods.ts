import type Stripe from 'stripe';
/**
 * Stripe's test cards and test bank accounts, with the outcome Stripe gives each. Messages, codes
 * and decline codes are Stripe's own, so that what the customer and the service see is what real
 * Stripe shows in test mode.
 */

export interface PaymentFailure {
  /** `last_payment_error.type` */
  type: 'card_error' | 'invalid_request_error';
  /** `last_payment_error.code`: one of the SDK's codes (the compiler checks each one). */
  code: Stripe.PaymentIntent.LastPaymentError.Code;
  declineCode: string | null;
  message: string;
  /** The field the customer has to correct, when there is one. */
  param: string | null;
  adviceCode: string | null;
  networkDeclineCode: string | null;
  /** `charge.outcome.seller_message` */
  sellerMessage: string;
}

export type CardBrand = 'visa' | 'mastercard' | 'amex' | 'discover' | 'jcb' | 'diners' | 'unknown';

export interface TestCard {
  brand: CardBrand;
  funding: 'credit' | 'debit' | 'prepaid';
  decline?: PaymentFailure;
  /** The payment succeeds, then the cardholder disputes it (a chargeback, or an inquiry). */
  dispute?: { reason: 'fraudulent'; inquiry: boolean };
  /** The payment succeeds; a refund of it fails some time after it was created. */
  refundFails?: boolean;
}

function cardDecline(
  declineCode: string,
  message: string,
  extra: Partial<PaymentFailure> = {},
): PaymentFailure {
  return {
    type: 'card_error',
    code: 'card_declined',
    declineCode,
    message,
    param: null,
    adviceCode: null,
    networkDeclineCode: null,
    sellerMessage: `The bank returned the decline code \`${declineCode}\`.`,
    ...extra,
  };
}

export const DECLINES = {
  generic: cardDecline('generic_decline', 'Your card was declined.', {
    adviceCode: 'try_again_later',
    networkDeclineCode: '01',
    sellerMessage: 'The bank did not return any further details with this decline.',
  }),
  insufficientFunds: cardDecline('insufficient_funds', 'Your card has insufficient funds.', {
    adviceCode: 'try_again_later',
    networkDeclineCode: '51',
  }),
  lostCard: cardDecline('lost_card', 'Your card was declined.', {
    adviceCode: 'do_not_try_again',
    networkDeclineCode: '41',
  }),
  stolenCard: cardDecline('stolen_card', 'Your card was declined.', {
    adviceCode: 'do_not_try_again',
    networkDeclineCode: '43',
  }),
  expiredCard: cardDecline('expired_card', 'Your card has expired.', {
    code: 'expired_card',
    param: 'exp_month',
    networkDeclineCode: '54',
  }),
  incorrectCvc: cardDecline('incorrect_cvc', "Your card's security code is incorrect.", {
    code: 'incorrect_cvc',
    param: 'cvc',
    networkDeclineCode: 'N7',
  }),
  processingError: cardDecline(
    'processing_error',
    'An error occurred while processing your card. Try again in a little bit.',
    { code: 'processing_error', adviceCode: 'try_again_later' },
  ),
  liveCardInTestMode: cardDecline(
    'test_mode_live_card',
    'Your card was declined. Your request was in test mode, but used a non test (live) card. ' +
      'For a list of valid test cards, visit: https://stripe.com/docs/testing.',
  ),
} satisfies Record<string, PaymentFailure>;

/** Card numbers (digits only) that behave as in Stripe's test mode. */
export const TEST_CARDS: Record<string, TestCard> = {
  '4242424242424242': { brand: 'visa', funding: 'credit' },
  '4000056655665556': { brand: 'visa', funding: 'debit' },
  '5555555555554444': { brand: 'mastercard', funding: 'credit' },
  '2223003122003222': { brand: 'mastercard', funding: 'credit' },
  '5200828282828210': { brand: 'mastercard', funding: 'debit' },
  '378282246310005': { brand: 'amex', funding: 'credit' },
  '6011111111111117': { brand: 'discover', funding: 'credit' },
  '3566002020360505': { brand: 'jcb', funding: 'credit' },
  '4000000000000002': { brand: 'visa', funding: 'credit', decline: DECLINES.generic },
  '4000000000009995': { brand: 'visa', funding: 'credit', decline: DECLINES.insufficientFunds },
  '4000000000009987': { brand: 'visa', funding: 'credit', decline: DECLINES.lostCard },
  '4000000000009979': { brand: 'visa', funding: 'credit', decline: DECLINES.stolenCard },
  '4000000000000069': { brand: 'visa', funding: 'credit', decline: DECLINES.expiredCard },
  '4000000000000127': { brand: 'visa', funding: 'credit', decline: DECLINES.incorrectCvc },
  '4000000000000119': { brand: 'visa', funding: 'credit', decline: DECLINES.processingError },
  '4000000000000259': { brand: 'visa', funding: 'credit', dispute: { reason: 'fraudulent', inquiry: false } },
  '4000000000001976': { brand: 'visa', funding: 'credit', dispute: { reason: 'fraudulent', inquiry: true } },
  '4000000000005126': { brand: 'visa', funding: 'credit', refundFails: true },
};

/**
 * Stripe's test PaymentMethods and tokens (`pm_card_visa`, `tok_visa`, …): the test card each one
 * stands for. Raw card numbers are refused by the API, as Stripe refuses them by default.
 */
export const TEST_CARD_TOKENS: Record<string, string> = {
  visa: '4242424242424242',
  visa_debit: '4000056655665556',
  mastercard: '5555555555554444',
  mastercard_debit: '5200828282828210',
  amex: '378282246310005',
  discover: '6011111111111117',
  jcb: '3566002020360505',
  chargeDeclined: '4000000000000002',
  chargeDeclinedInsufficientFunds: '4000000000009995',
  chargeDeclinedLostCard: '4000000000009987',
  chargeDeclinedStolenCard: '4000000000009979',
  chargeDeclinedExpiredCard: '4000000000000069',
  chargeDeclinedIncorrectCvc: '4000000000000127',
  chargeDeclinedProcessingError: '4000000000000119',
  createDispute: '4000000000000259',
  createDisputeInquiry: '4000000000001976',
  refundFail: '4000000000005126',
};

/** `pm_card_visa` or `tok_visa` → the card number; undefined for anything else. */
export function cardNumberOfTestToken(token: string): string | undefined {
  const match = /^(?:pm_card_|tok_)(\w+)$/.exec(token);
  return match ? TEST_CARD_TOKENS[match[1]] : undefined;
}

/** The test mode outcome of a well-formed card number: a number outside the list is a live card. */
export function testCard(number: string): TestCard {
  return (
    TEST_CARDS[number] ?? {
      brand: cardBrand(number),
      funding: 'credit',
      decline: DECLINES.liveCardInTestMode,
    }
  );
}

export function cardBrand(number: string): CardBrand {
  if (/^4/.test(number)) return 'visa';
  if (/^(5[1-5]|2[2-7])/.test(number)) return 'mastercard';
  if (/^3[47]/.test(number)) return 'amex';
  if (/^(6011|65|64[4-9])/.test(number)) return 'discover';
  if (/^35/.test(number)) return 'jcb';
  if (/^3(0|6|8)/.test(number)) return 'diners';
  return 'unknown';
}

export function passesLuhn(number: string): boolean {
  let sum = 0;
  for (let i = 0; i < number.length; i++) {
    let digit = Number(number[number.length - 1 - i]);
    if (i % 2 === 1) {
      digit *= 2;
      if (digit > 9) digit -= 9;
    }
    sum += digit;
  }
  return number.length > 0 && sum % 10 === 0;
}

export interface CardInput {
  number: string;
  expMonth: number;
  expYear: number;
  cvc: string;
}

/**
 * Checks what the customer typed, as Stripe's payment form does before anything reaches the bank:
 * a message naming the field at fault, or the card in a normalized form.
 */
export function readCardInput(
  raw: { cardNumber?: string; expiry?: string; cvc?: string },
  now: Date,
): { card: CardInput } | { field: 'cardNumber' | 'expiry' | 'cvc'; message: string } {
  const number = (raw.cardNumber ?? '').replace(/[\s-]/g, '');
  if (!/^\d*$/.test(number)) return { field: 'cardNumber', message: 'Your card number is invalid.' };
  if (number.length < 12) return { field: 'cardNumber', message: 'Your card number is incomplete.' };
  if (number.length > 19 || !passesLuhn(number)) {
    return { field: 'cardNumber', message: 'Your card number is invalid.' };
  }

  const expiry = /^\s*(\d{1,2})\s*\/?\s*(\d{2}|\d{4})\s*$/.exec(raw.expiry ?? '');
  if (!expiry) return { field: 'expiry', message: "Your card's expiration date is incomplete." };
  const expMonth = Number(expiry[1]);
  const expYear = expiry[2].length === 2 ? 2000 + Number(expiry[2]) : Number(expiry[2]);
  if (expMonth < 1 || expMonth > 12) {
    return { field: 'expiry', message: "Your card's expiration month is invalid." };
  }
  const thisMonth = now.getUTCFullYear() * 12 + now.getUTCMonth();
  if (expYear * 12 + (expMonth - 1) < thisMonth) {
    return { field: 'expiry', message: "Your card's expiration date is in the past." };
  }

  const cvc = (raw.cvc ?? '').trim();
  const cvcLength = cardBrand(number) === 'amex' ? 4 : 3;
  if (!/^\d+$/.test(cvc) || cvc.length < cvcLength) {
    return { field: 'cvc', message: "Your card's security code is incomplete." };
  }
  if (cvc.length > cvcLength) return { field: 'cvc', message: "Your card's security code is invalid." };
  return { card: { number, expMonth, expYear, cvc } };
}

/** Stripe's test routing number; the page asks only for the account number. */
export const TEST_ROUTING_NUMBER = '110000000';
export const TEST_BANK_NAME = 'STRIPE TEST BANK';

function bankFailure(code: string, message: string): PaymentFailure {
  return {
    type: 'invalid_request_error',
    code,
    declineCode: null,
    message,
    param: null,
    adviceCode: null,
    networkDeclineCode: null,
    sellerMessage: message,
  };
}

/** Test bank accounts whose debit fails when it settles; every other account number settles. */
export const FAILING_BANK_ACCOUNTS: Record<string, PaymentFailure> = {
  '000111111113': bankFailure('account_closed', "The customer's bank account has been closed."),
  '000111111116': bankFailure('no_account', "The customer's bank account could not be located."),
  '000222222227': bankFailure(
    'insufficient_funds',
    "The customer's account has insufficient funds to cover this payment.",
  ),
  '000333333335': bankFailure(
    'debit_not_authorized',
    'The customer has notified their bank that this payment was unauthorized.',
  ),
};

/**
 * Stripe's SEPA Direct Debit test IBANs whose debit fails when it settles (every other valid IBAN
 * settles): Austria's and Italy's "processing → requires_payment_method" accounts.
 */
export const FAILING_IBANS: Record<string, PaymentFailure> = {
  AT861904300235473202: bankFailure(
    'insufficient_funds',
    "The customer's account has insufficient funds to cover this payment.",
  ),
  IT60X0542811101000000123456: bankFailure(
    'insufficient_funds',
    "The customer's account has insufficient funds to cover this payment.",
  ),
};

/** An IBAN with a valid check (ISO 13616 mod 97), spaces removed and upper-cased; undefined if invalid. */
export function normalizeIban(raw: string): string | undefined {
  const iban = raw.replace(/\s/g, '').toUpperCase();
  if (!/^[A-Z]{2}\d{2}[A-Z0-9]{10,30}$/.test(iban)) return undefined;
  const digits = (iban.slice(4) + iban.slice(0, 4)).replace(/[A-Z]/g, (c) => String(c.charCodeAt(0) - 55));
  let remainder = 0;
  for (const digit of digits) remainder = (remainder * 10 + Number(digit)) % 97;
  return remainder === 1 ? iban : undefined;
}

export function readBankAccountInput(raw: {
  accountNumber?: string;
}): { accountNumber: string } | { field: 'accountNumber'; message: string } {
  const accountNumber = (raw.accountNumber ?? '').replace(/[\s-]/g, '');
  if (accountNumber === '') return { field: 'accountNumber', message: 'Your account number is incomplete.' };
  if (!/^\d{4,17}$/.test(accountNumber)) {
    return { field: 'accountNumber', message: 'Your account number is invalid.' };
  }
  return { accountNumber };
}
