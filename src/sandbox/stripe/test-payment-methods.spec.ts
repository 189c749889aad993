import { cardBrand, passesLuhn, readBankAccountInput, readCardInput, testCard } from './test-payment-methods';

describe('test payment methods', () => {
  const now = new Date('2026-11-26T12:00:00Z');

  it('knows Stripe’s test cards and their outcomes', () => {
    expect(testCard('4242424242424242').decline).toBeUndefined();
    expect(testCard('4000000000009995').decline).toMatchObject({
      code: 'card_declined',
      declineCode: 'insufficient_funds',
      message: 'Your card has insufficient funds.',
    });
    expect(testCard('4000000000000127').decline).toMatchObject({ code: 'incorrect_cvc', param: 'cvc' });
    // A real card number in test mode is declined, as Stripe does.
    expect(testCard('4111111111111111').decline?.declineCode).toBe('test_mode_live_card');
  });

  it('checks numbers with Luhn and recognizes brands', () => {
    expect(passesLuhn('4242424242424242')).toBe(true);
    expect(passesLuhn('4242424242424241')).toBe(false);
    expect(cardBrand('378282246310005')).toBe('amex');
    expect(cardBrand('5555555555554444')).toBe('mastercard');
  });

  it('reads what the customer typed, or names the field at fault', () => {
    expect(readCardInput({ cardNumber: '4242 4242 4242 4242', expiry: '12 / 34', cvc: '123' }, now)).toEqual({
      card: { number: '4242424242424242', expMonth: 12, expYear: 2034, cvc: '123' },
    });
    expect(readCardInput({ cardNumber: '4242', expiry: '12/34', cvc: '123' }, now)).toMatchObject({
      field: 'cardNumber',
    });
    expect(readCardInput({ cardNumber: '4242424242424242', expiry: '13/34', cvc: '123' }, now)).toMatchObject(
      {
        field: 'expiry',
        message: "Your card's expiration month is invalid.",
      },
    );
    expect(readCardInput({ cardNumber: '4242424242424242', expiry: '10/26', cvc: '123' }, now)).toMatchObject(
      {
        field: 'expiry',
        message: "Your card's expiration date is in the past.",
      },
    );
    expect(
      readCardInput({ cardNumber: '4242424242424242', expiry: '11/26', cvc: '123' }, now),
    ).toHaveProperty('card');
    expect(readCardInput({ cardNumber: '378282246310005', expiry: '12/34', cvc: '123' }, now)).toMatchObject({
      field: 'cvc',
    });
    expect(readBankAccountInput({ accountNumber: '000123456789' })).toEqual({
      accountNumber: '000123456789',
    });
    expect(readBankAccountInput({ accountNumber: '12ab' })).toMatchObject({ field: 'accountNumber' });
  });
});
