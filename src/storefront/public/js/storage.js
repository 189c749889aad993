// What the pages keep in this browser (localStorage): each order's access token, and the cart.

const TOKENS_KEY = 'payflow.orders';
const CART_KEY = 'payflow.cart';
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
