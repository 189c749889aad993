// The shop page: products, a cart in one currency, and Pay (order, then Stripe Checkout).
import { api, ApiError, goToCheckout, showError } from './api.js';
import { formatMoney } from './money.js';
import { orderTokens, pendingOrder, savedCart } from './storage.js';

/** The API's limits: quantity per line, lines per order. */
const MAX_QUANTITY = 100;
const MAX_LINES = 50;

const $ = (id) => document.getElementById(id);
const ui = {
  catalogState: $('catalog-state'),
  products: $('products'),
  cartTitle: $('cart-title'),
  cartEmpty: $('cart-empty'),
  cartLines: $('cart-lines'),
  cartSummary: $('cart-summary'),
  cartCurrency: $('cart-currency'),
  cartCount: $('cart-count'),
  toast: $('toast'),
  form: $('checkout'),
  email: $('email'),
  pay: $('pay'),
  error: $('error'),
  retry: $('retry'),
};

/** Products by id, as the API lists them (prices from the server, never from the cart). */
const products = new Map();
/** productId → quantity, in the order lines were added. */
let cart = new Map();
let busy = false;
let toastTimer;

start().catch((error) => showError(ui.error, error));

async function start() {
  ui.form.addEventListener('submit', (event) => {
    event.preventDefault();
    void pay();
  });
  ui.retry.addEventListener('click', () => void pay());
  // Back from Stripe through the browser's history, the page may come back as it was left: busy.
  window.addEventListener('pageshow', (event) => {
    if (!event.persisted) return;
    setBusy(false);
    if (products.size) {
      cart = loadCart();
      renderCart();
    }
  });
  ui.email.addEventListener('input', () => ui.email.removeAttribute('aria-invalid'));
  // Back from Checkout, the email typed before is still here.
  const pending = pendingOrder.load();
  if (pending && !ui.email.value) ui.email.value = pending.email;

  try {
    const list = await api('/products');
    for (const product of list) products.set(product.id, product);
    renderProducts();
    ui.catalogState.textContent = list.length ? '' : 'Nothing is for sale right now.';
  } catch (error) {
    ui.catalogState.textContent = "The products couldn't be loaded. Reload the page to try again.";
    showError(ui.error, error);
  } finally {
    ui.products.setAttribute('aria-busy', 'false');
  }
  cart = loadCart();
  renderCart();
}

function renderProducts() {
  const cards = [...products.values()].map((product) => {
    const card = element('li', {
      className: 'product',
      'data-testid': 'product-card',
      'data-sku': product.sku,
    });
    const titleId = `product-${product.id}`;
    card.append(
      element('h2', { id: titleId, textContent: product.name }),
      element('p', { className: 'muted', textContent: product.description }),
      element('p', { className: 'price', textContent: formatMoney(product.unitAmount, product.currency) }),
    );
    const add = element('button', {
      type: 'button',
      textContent: 'Add to cart',
      'data-testid': `add-to-cart-${product.sku}`,
      'aria-describedby': titleId,
    });
    add.addEventListener('click', () => addToCart(product));
    card.append(add);
    return card;
  });
  ui.products.replaceChildren(...cards);
}

function addToCart(product) {
  const currency = cartCurrency();
  if (currency && currency !== product.currency) {
    const message =
      `Your cart is in ${currency.toUpperCase()}, and a cart holds one currency only. ` +
      `Pay for it or empty it before adding ${product.name} (${product.currency.toUpperCase()}).`;
    showError(ui.error, new ApiError(422, { message }));
    toast(message, 'error');
    return;
  }
  if (!cart.has(product.id) && cart.size >= MAX_LINES) {
    showError(
      ui.error,
      new ApiError(422, { message: `A cart holds at most ${MAX_LINES} different products.` }),
    );
    return;
  }
  setQuantity(product.id, (cart.get(product.id) ?? 0) + 1);
  toast(`Added ${product.name}. ${ui.cartSummary.textContent}.`);
}

/**
 * A short note at the bottom of the screen, where the shopper's thumb is: on a phone the cart sits
 * below every product, out of sight. Screen readers hear the cart summary and the error region
 * instead (the note repeats them, so it is hidden from them).
 */
function toast(text, kind = 'info') {
  ui.toast.textContent = text;
  ui.toast.dataset.kind = kind;
  ui.toast.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => (ui.toast.hidden = true), kind === 'error' ? 8000 : 4000);
}

function setQuantity(productId, quantity) {
  if (quantity <= 0) cart.delete(productId);
  else cart.set(productId, Math.min(quantity, MAX_QUANTITY));
  showError(ui.error, null);
  ui.retry.hidden = true;
  saveCart();
  renderCart();
}

function cartCurrency() {
  const [first] = cart.keys();
  return first ? products.get(first)?.currency : undefined;
}

function renderCart() {
  const lines = [...cart].map(([productId, quantity]) => {
    const product = products.get(productId);
    const line = element('li', {
      className: 'cart-line',
      'data-testid': 'cart-line',
      'data-sku': product.sku,
    });
    const name = element('span', { className: 'line-name', textContent: product.name });
    const controls = element('span', { className: 'quantity' });
    const fewer = element('button', {
      type: 'button',
      textContent: '−',
      'aria-label': `One fewer ${product.name}`,
      'data-testid': 'decrease',
    });
    const count = element('span', {
      className: 'count',
      textContent: String(quantity),
      'data-testid': 'quantity',
    });
    const more = element('button', {
      type: 'button',
      textContent: '+',
      'aria-label': `One more ${product.name}`,
      'data-testid': 'increase',
      disabled: quantity >= MAX_QUANTITY,
    });
    const remove = element('button', {
      type: 'button',
      className: 'link',
      textContent: 'Remove',
      'aria-label': `Remove ${product.name}`,
      'data-testid': 'remove',
    });
    fewer.addEventListener('click', () => setQuantity(productId, quantity - 1));
    more.addEventListener('click', () => setQuantity(productId, quantity + 1));
    remove.addEventListener('click', () => {
      setQuantity(productId, 0);
      ui.cartTitle.focus();
    });
    controls.append(fewer, count, more);
    const amount = element('span', {
      className: 'line-amount',
      textContent: formatMoney(product.unitAmount * quantity, product.currency),
    });
    line.append(name, controls, amount, remove);
    return line;
  });
  ui.cartLines.replaceChildren(...lines);
  ui.cartEmpty.hidden = lines.length > 0;

  const currency = cartCurrency();
  if (currency) {
    const items = [...cart.values()].reduce((sum, quantity) => sum + quantity, 0);
    const total = [...cart].reduce((sum, [id, quantity]) => sum + products.get(id).unitAmount * quantity, 0);
    ui.cartSummary.textContent = `${items} ${items === 1 ? 'item' : 'items'}, total ${formatMoney(total, currency)}`;
    ui.cartCurrency.textContent = `Prices in ${currency.toUpperCase()}. A cart holds one currency.`;
    ui.cartCount.textContent = String(items);
  } else {
    ui.cartSummary.textContent = '';
    ui.cartCurrency.textContent = '';
    ui.cartCount.textContent = '0';
  }
  ui.pay.disabled = busy || cart.size === 0;
}

async function pay() {
  if (busy) return;
  showError(ui.error, null);
  ui.retry.hidden = true;
  if (cart.size === 0) return;
  if (!ui.email.checkValidity()) {
    ui.email.setAttribute('aria-invalid', 'true');
    showError(
      ui.error,
      new ApiError(400, { message: 'Please enter a valid email address for your receipt.' }),
    );
    ui.email.focus();
    return;
  }

  setBusy(true);
  try {
    const order = await orderForCart(ui.email.value.trim());
    if (!order) return setBusy(false);
    // The cart stays until the order is paid (the success page empties it): back from Stripe, it is here.
    await goToCheckout(order.orderId, orderTokens.get(order.orderId));
  } catch (error) {
    setBusy(false);
    if (error instanceof ApiError && error.code === 'REQUEST.INVALID')
      ui.email.setAttribute('aria-invalid', 'true');
    showError(ui.error, error);
    // The order (if placed) is still payable after a network or provider failure: offer to retry it.
    ui.retry.hidden = !(error instanceof ApiError && error.retryable);
  }
}

/**
 * The order to pay for the cart as it is now: the pending one while the cart and the email are
 * unchanged and it is still payable; otherwise the pending one is canceled (which expires its
 * Checkout Session) and a new one is placed. Resolves to null when the earlier order turned out to
 * be paid or on its way (nothing is placed then: the shopper is told, with a link to it).
 */
async function orderForCart(email) {
  const items = [...cart].map(([productId, quantity]) => ({ productId, quantity }));
  const pending = pendingOrder.load();
  if (pending) {
    const token = orderTokens.get(pending.orderId);
    const path = `/orders/${encodeURIComponent(pending.orderId)}`;
    const current = await api(path, { token }).catch((error) => {
      if (error instanceof ApiError && error.code === 'ORDERS.NOT_FOUND') return null;
      throw error;
    });
    if (current && (current.status === 'paid' || current.status === 'processing')) {
      pendingOrder.clear(pending.orderId);
      showEarlierOrder(pending.orderId);
      return null;
    }
    const unchanged = pending.email === email && sameItems(pending.items, items);
    if (current && current.status !== 'canceled' && unchanged) return pending;
    if (current && current.status !== 'canceled') {
      try {
        await api(`${path}/cancel`, { method: 'POST', token });
      } catch (error) {
        // Paid or being paid meanwhile: never place a second order for it.
        if (error instanceof ApiError && error.code === 'ORDERS.NOT_CANCELABLE') {
          pendingOrder.clear(pending.orderId);
          showEarlierOrder(pending.orderId);
          return null;
        }
        throw error;
      }
    }
    pendingOrder.clear(pending.orderId);
  }
  const order = await api('/orders', { method: 'POST', body: { customerEmail: email, items } });
  orderTokens.set(order.id, order.accessToken);
  const placed = { orderId: order.id, email, items };
  pendingOrder.save(placed);
  return placed;
}

function sameItems(a, b) {
  const key = (lines) =>
    JSON.stringify(
      lines.map((line) => [line.productId, line.quantity]).sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0)),
    );
  return key(a) === key(b);
}

function showEarlierOrder(orderId) {
  ui.error.replaceChildren();
  const text = document.createElement('p');
  text.append('Your earlier order for this cart is already paid or being paid. ');
  const link = document.createElement('a');
  link.href = `/checkout/success?orderId=${encodeURIComponent(orderId)}`;
  link.textContent = 'See that order';
  text.append(link, '.');
  ui.error.append(text);
}

function setBusy(value) {
  busy = value;
  ui.form.setAttribute('aria-busy', String(value));
  ui.pay.textContent = value ? 'Going to payment…' : 'Pay';
  ui.pay.disabled = value || cart.size === 0;
  ui.retry.disabled = value;
}

function loadCart() {
  const lines = savedCart
    .load()
    .filter((line) => products.has(line?.productId) && Number.isInteger(line.quantity) && line.quantity > 0);
  // A cart saved before the catalog changed keeps only what can still be bought together.
  const currency = lines.length ? products.get(lines[0].productId).currency : undefined;
  return new Map(
    lines
      .filter((line) => products.get(line.productId).currency === currency)
      .slice(0, MAX_LINES)
      .map((line) => [line.productId, Math.min(line.quantity, MAX_QUANTITY)]),
  );
}

function saveCart() {
  savedCart.save([...cart].map(([productId, quantity]) => ({ productId, quantity })));
}

/** `element('p', { className, textContent, 'data-x': … })`: properties where they exist, attributes otherwise. */
function element(tag, props = {}) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (key in node && !key.includes('-')) node[key] = value;
    else node.setAttribute(key, value);
  }
  return node;
}
