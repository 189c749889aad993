// Amounts are minor units (cents; whole units for zero-decimal currencies), as Stripe counts them.
const ZERO_DECIMAL = new Set([
  'bif', 'clp', 'djf', 'gnf', 'jpy', 'kmf', 'krw', 'mga', 'pyg', 'rwf', 'ugx', 'vnd', 'vuv', 'xaf', 'xof', 'xpf',
]); // prettier-ignore

export function minorPerMajor(currency) {
  return ZERO_DECIMAL.has(String(currency).toLowerCase()) ? 1 : 100;
}

/** `money(1250, 'usd')` → "$12.50". */
export function money(amount, currency) {
  return new Intl.NumberFormat('en-US', {
    style: 'currency',
    currency: String(currency).toUpperCase(),
  }).format(amount / minorPerMajor(currency));
}

/** "12.50" → 1250 (usd); "" → undefined; anything else → NaN. */
export function parseAmount(text, currency) {
  const value = String(text).trim().replace(/^\$/, '');
  if (value === '') return undefined;
  const decimals = minorPerMajor(currency) === 1 ? 0 : 2;
  const pattern = decimals ? /^\d+(\.\d{1,2})?$/ : /^\d+$/;
  if (!pattern.test(value)) return NaN;
  return Math.round(Number(value) * minorPerMajor(currency));
}

export function when(iso) {
  if (!iso) return '';
  return new Date(iso).toLocaleString('en-GB', { dateStyle: 'medium', timeStyle: 'medium' });
}

/** An element: `el('td', { class: 'x', dataset: { id } }, 'text', child)`. Text is never parsed as HTML. */
export function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attributes)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'dataset') Object.assign(node.dataset, value);
    else if (key.startsWith('on')) node.addEventListener(key.slice(2), value);
    else if (key === 'class') node.className = value;
    else node.setAttribute(key, value === true ? '' : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}
