// Prices arrive in minor units (cents), as Stripe counts them; whole units for zero-decimal currencies.

/** Stripe's zero-decimal currencies (the service's `Money` uses the same list). */
const ZERO_DECIMAL = new Set([
  'bif', 'clp', 'djf', 'gnf', 'jpy', 'kmf', 'krw', 'mga', 'pyg', 'rwf', 'ugx', 'vnd', 'vuv', 'xaf', 'xof', 'xpf',
]); // prettier-ignore

const formats = new Map();

/** `formatMoney(1450, 'usd')` → "$14.50"; `formatMoney(2400, 'jpy')` → "¥2,400". */
export function formatMoney(amount, currency) {
  const code = String(currency).toLowerCase();
  if (!formats.has(code)) {
    formats.set(code, new Intl.NumberFormat(undefined, { style: 'currency', currency: code.toUpperCase() }));
  }
  return formats.get(code).format(ZERO_DECIMAL.has(code) ? amount : amount / 100);
}
