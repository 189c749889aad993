import { MAX_AMOUNT, Money, MoneyError } from './money';

describe('Money', () => {
  it('holds integer minor units and a lowercase ISO currency', () => {
    const price = Money.of(1450, 'USD');
    expect(price.amount).toBe(1450);
    expect(price.currency).toBe('usd');
  });

  it('adds and multiplies exactly, without floating point drift', () => {
    const dime = Money.of(10, 'usd');
    let total = Money.zero('usd');
    for (let i = 0; i < 3; i++) total = total.add(dime);
    expect(total.amount).toBe(30); // 0.1 + 0.1 + 0.1 in floats is 0.30000000000000004
    expect(Money.of(1999, 'usd').times(3).amount).toBe(5997);
    expect(Money.of(1999, 'usd').times(0).amount).toBe(0);
  });

  it('refuses to mix currencies', () => {
    expect(() => Money.of(100, 'usd').add(Money.of(100, 'eur'))).toThrow(MoneyError);
  });

  it.each([
    [1.5, 'usd'],
    [-1, 'usd'],
    [Number.NaN, 'usd'],
    [MAX_AMOUNT + 1, 'usd'],
    [100, 'us'],
    [100, 'dollars'],
  ])('refuses amount %p in %p', (amount, currency) => {
    expect(() => Money.of(amount, currency)).toThrow(MoneyError);
  });

  it('refuses a non-integer or negative quantity', () => {
    expect(() => Money.of(100, 'usd').times(1.5)).toThrow(MoneyError);
    expect(() => Money.of(100, 'usd').times(-1)).toThrow(MoneyError);
  });

  it('refuses a product over the chargeable maximum', () => {
    expect(() => Money.of(MAX_AMOUNT, 'usd').times(2)).toThrow(MoneyError);
  });

  it('knows zero-decimal currencies', () => {
    expect(Money.minorUnitsPer('usd')).toBe(100);
    expect(Money.minorUnitsPer('JPY')).toBe(1);
    expect(Money.minorUnitsPer('krw')).toBe(1);
  });

  it('formats for people, minding zero-decimal currencies', () => {
    expect(Money.of(2599, 'usd').format()).toBe('$25.99');
    expect(Money.of(2400, 'jpy').format()).toBe('¥2,400');
  });

  it('compares by value', () => {
    expect(Money.of(100, 'usd').equals(Money.of(100, 'usd'))).toBe(true);
    expect(Money.of(100, 'usd').equals(Money.of(100, 'eur'))).toBe(false);
    expect(Money.of(100, 'usd').equals(Money.of(101, 'usd'))).toBe(false);
  });
});
