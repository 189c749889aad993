// The service's REST API as the pages use it: one error shape, readable messages, the order tokens.

/** An answer other than 2xx, or no answer at all (status 0). */
export class ApiError extends Error {
  constructor(status, body) {
    super(typeof body?.message === 'string' ? body.message : `The request failed (${status}).`);
    this.name = 'ApiError';
    this.status = status;
    this.code = typeof body?.code === 'string' ? body.code : status ? `HTTP.${status}` : 'NETWORK';
    this.errors = Array.isArray(body?.errors) ? body.errors : [];
  }

  /** Worth trying again as is: the network, the payment provider or the server had a moment. */
  get retryable() {
    return this.status === 0 || this.status === 429 || this.status >= 500;
  }
}

/** Calls `/api${path}`; resolves with the JSON body, or rejects with an `ApiError`. */
export async function api(path, { method = 'GET', body, token } = {}) {
  const headers = { Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (token) headers.Authorization = `Bearer ${token}`;
  let response;
  try {
    response = await fetch(`/api${path}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    throw new ApiError(0, null);
  }
  const data = await response.json().catch(() => null);
  if (!response.ok) throw new ApiError(response.status, data);
  return data;
}

/** What to tell the customer about an error: a sentence, and the fields at fault if any. */
export function describeError(error) {
  if (!(error instanceof ApiError)) {
    return { message: 'Something went wrong in this page. Please reload it and try again.', details: [] };
  }
  const details = error.errors
    .filter((e) => typeof e?.message === 'string')
    .map((e) => (e.field === 'customerEmail' ? 'Please enter a valid email address.' : e.message));
  switch (true) {
    case error.status === 0:
      return {
        message: "We can't reach the shop right now. Check your connection and try again.",
        details: [],
      };
    case error.status === 502 || error.status === 504:
      return {
        message:
          "The payment provider can't be reached right now. Your order is saved: try again in a moment.",
        details: [],
      };
    case error.status === 429:
      return {
        message: 'Too many attempts in a short time. Please wait a minute, then try again.',
        details: [],
      };
    case error.code === 'ORDERS.NOT_PAYABLE':
      return { message: 'This order can no longer be paid: it is already paid or canceled.', details: [] };
    case error.code === 'ORDERS.NOT_CANCELABLE':
      return { message: `This order can't be canceled now. ${error.message}`, details: [] };
    case error.code === 'ORDERS.MIXED_CURRENCIES':
      return {
        message: 'A cart holds one currency only. Remove the items priced in another currency.',
        details: [],
      };
    case error.code === 'ORDERS.UNKNOWN_PRODUCT':
      return {
        message: 'A product in your cart is no longer for sale. Remove it and try again.',
        details: [],
      };
    case error.code === 'ORDERS.NOT_FOUND':
      return {
        message: "We can't find this order. An order opens only in the browser it was placed from.",
        details: [],
      };
    case error.code === 'REQUEST.INVALID':
      return { message: 'Please check the form.', details };
    case error.status >= 500:
      return { message: 'Something went wrong on our side. Please try again.', details: [] };
    default:
      return { message: error.message, details };
  }
}

/** Shows `error` in `element` (a `role="alert"` region); `null` clears it. */
export function showError(element, error) {
  element.replaceChildren();
  if (!error) return;
  const { message, details } = describeError(error);
  const text = document.createElement('p');
  text.textContent = message;
  element.append(text);
  if (details.length) {
    const list = document.createElement('ul');
    for (const detail of new Set(details)) {
      const item = document.createElement('li');
      item.textContent = detail;
      list.append(item);
    }
    element.append(list);
  }
}

/**
 * Starts (or resumes) Stripe Checkout for an order and goes to the payment page. Resolves only if
 * it could not go (it rejects with the `ApiError`).
 */
export async function goToCheckout(orderId, token) {
  const session = await api(`/orders/${encodeURIComponent(orderId)}/checkout`, { method: 'POST', token });
  if (typeof session?.url !== 'string') throw new ApiError(502, null);
  location.assign(session.url);
}
