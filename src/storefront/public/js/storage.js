// What the pages keep in this browser (localStorage): each order's access token, and the cart.

const TOKENS_KEY = 'payflow.orders';
const CART_KEY = 'payflow.cart';
const PENDING_KEY = 'payflow.pending';
const memory = new Map();

/**
 * Each order's access token, by order id: it is what opens the order again on the success and
 * cancel pages. Without storage (disabled, full) a token lasts as long as the page.
 */
export const orderTokens = {
  get(orderId) {
    return readJson(TOKENS_KEY, {})[orderId] ?? memory.get(orderId) ?? null;
  },
  set(orderId, token) {
    memory.set(orderId, token);
    writeJson(TOKENS_KEY, { ...readJson(TOKENS_KEY, {}), [orderId]: token });
  },
};

/** The cart as `[{productId, quantity}]`, kept until its order is paid. */
export const savedCart = {
  load() {
    const lines = readJson(CART_KEY, []);
    return Array.isArray(lines) ? lines : [];
  },
  save(lines) {
    writeJson(CART_KEY, lines);
  },
  clear() {
    try {
      localStorage.removeItem(CART_KEY);
    } catch {
      // storage disabled
    }
  },
};

/**
 * The unpaid order this browser placed for its cart: `{orderId, email, items: [{productId,
 * quantity}]}`. Pay continues it while the cart and email are unchanged, and replaces it (cancels
 * it, then places another) when they changed, so that leaving Checkout and paying again never
 * leaves a second order behind. Forgotten once the order is paid, processing or canceled.
 */
export const pendingOrder = {
  load() {
    const value = readJson(PENDING_KEY, null);
    const valid =
      typeof value?.orderId === 'string' &&
      typeof value.email === 'string' &&
      Array.isArray(value.items) &&
      orderTokens.get(value.orderId) !== null;
    return valid ? value : null;
  },
  save(order) {
    writeJson(PENDING_KEY, order);
  },
  /** Forgets the pending order (only `orderId`'s, when given). */
  clear(orderId) {
    if (orderId !== undefined && readJson(PENDING_KEY, null)?.orderId !== orderId) return;
    try {
      localStorage.removeItem(PENDING_KEY);
    } catch {
      // storage disabled
    }
  },
};

function readJson(key, fallback) {
  try {
    const value = JSON.parse(localStorage.getItem(key) ?? 'null');
    return value !== null && typeof value === 'object' ? value : fallback;
  } catch {
    return fallback;
  }
}

function writeJson(key, value) {
  try {
    localStorage.setItem(key, JSON.stringify(value));
  } catch {
    // storage disabled or full
  }
}
