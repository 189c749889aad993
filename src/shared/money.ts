import { Embeddable, Property } from '@mikro-orm/core';

/** ISO 4217 currencies without a minor unit, as Stripe lists them: amounts are whole units. */
const ZERO_DECIMAL_CURRENCIES = new Set([
  'bif', 'clp', 'djf', 'gnf', 'jpy', 'kmf', 'krw', 'mga', 'pyg', 'rwf', 'ugx', 'vnd', 'vuv', 'xaf', 'xof', 'xpf',
]); // prettier-ignore

/** Stripe's largest chargeable amount (8 digits, in minor units). */
export const MAX_AMOUNT = 99_999_999;

export class MoneyError extends Error {
  override readonly name = 'MoneyError';
}

/**
 * An amount of money: integer minor units (cents; yen for zero-decimal currencies) and a lowercase
 * ISO 4217 currency, as Stripe represents them. Immutable; arithmetic refuses to mix currencies.
 */
@Embeddable()
export class Money {
  @Property({ type: 'integer' })
  readonly amount: number;

  @Property({ type: 'string', length: 3 })
  readonly currency: string;

  private constructor(amount: number, currency: string) {
    this.amount = amount;
    this.currency = currency;
  }

  static of(amount: number, currency: string): Money {
    const code = currency.toLowerCase();
    if (!/^[a-z]{3}$/.test(code)) throw new MoneyError(`"${currency}" is not an ISO 4217 currency code`);
    if (!Number.isSafeInteger(amount) || amount < 0) {
      throw new MoneyError(`an amount must be a non-negative integer of minor units, got ${amount}`);
    }
    if (amount > MAX_AMOUNT) throw new MoneyError(`${amount} exceeds the largest chargeable amount`);
    return new Money(amount, code);
  }

  static zero(currency: string): Money {
    return Money.of(0, currency);
  }

  /** Minor units per major unit: 100 for USD, 1 for JPY. */
  static minorUnitsPer(currency: string): number {
    return ZERO_DECIMAL_CURRENCIES.has(currency.toLowerCase()) ? 1 : 100;
  }

  add(other: Money): Money {
    this.assertSameCurrency(other);
    return Money.of(this.amount + other.amount, this.currency);
  }

  times(quantity: number): Money {
    if (!Number.isSafeInteger(quantity) || quantity < 0) {
      throw new MoneyError(`a quantity must be a non-negative integer, got ${quantity}`);
    }
    return Money.of(this.amount * quantity, this.currency);
  }

  equals(other: Money): boolean {
    return this.amount === other.amount && this.currency === other.currency;
  }

  /** Human-readable, for logs and pages: `$25.99`, `¥2,400`. */
  format(locale = 'en-US'): string {
    return new Intl.NumberFormat(locale, { style: 'currency', currency: this.currency.toUpperCase() }).format(
      this.amount / Money.minorUnitsPer(this.currency),
    );
  }

  toJSON(): { amount: number; currency: string } {
    return { amount: this.amount, currency: this.currency };
  }

  private assertSameCurrency(other: Money): void {
    if (other.currency !== this.currency) {
      throw new MoneyError(`cannot combine ${this.currency} with ${other.currency}`);
    }
  }
}
