// The page Stripe sends the customer to when they leave Checkout: /checkout/cancel?orderId=<id>.
// While the order is payable: pay it (a new or the same Checkout Session) or cancel it.
import { api, ApiError, goToCheckout, showError } from './api.js';
import { followOrder, renderSummary, showOrderNotFound, statusView } from './order-view.js';
import { CANCEL_TEXTS } from './order-texts.js';
import { orderTokens, pendingOrder, savedCart } from './storage.js';

const PAYABLE = new Set(['pending', 'failed']);

const $ = (id) => document.getElementById(id);
const ui = {
  title: $('title'),
  status: $('order-status'),
  error: $('error'),
  retry: $('retry'),
  cancel: $('cancel-order'),
  summary: $('summary'),
  summaryBody: $('summary-body'),
  orderId: $('order-id'),
};

const orderId = new URLSearchParams(location.search).get('orderId');
const token = orderId ? orderTokens.get(orderId) : null;
let stopFollowing = () => {};

const view = statusView(ui.status, {
  texts: CANCEL_TEXTS,
  heading: ui.title,
  onChange: ({ status }) => {
    ui.retry.hidden = !PAYABLE.has(status);
    ui.cancel.hidden = !PAYABLE.has(status);
    if (status === 'paid' || status === 'processing') savedCart.clear();
    if (!PAYABLE.has(status)) pendingOrder.clear(orderId);
  },
});

void main();

async function main() {
  if (!orderId || !token) return notFoundHere();
  ui.orderId.textContent = orderId;
  ui.retry.addEventListener('click', () => void retry());
  ui.cancel.addEventListener('click', () => void cancel());
  ui.status.tabIndex = -1;

  stopFollowing = followOrder({
    orderId,
    token,
    onStatus: (message) => view.update(message),
    onRefused: () => notFoundHere(),
  });
  try {
    const order = await api(`/orders/${encodeURIComponent(orderId)}`, { token });
    renderSummary(ui.summaryBody, order);
    ui.summary.hidden = false;
    view.update(order);
  } catch (error) {
    if (error instanceof ApiError && error.code === 'ORDERS.NOT_FOUND') return notFoundHere();
    ui.status.textContent = "We can't show this order right now. Reload the page to try again.";
    showError(ui.error, error);
  }
}

function notFoundHere() {
  stopFollowing();
  showOrderNotFound({
    heading: ui.title,
    status: ui.status,
    error: ui.error,
    hide: [ui.retry, ui.cancel, ui.summary],
  });
}

async function retry() {
  await act(() => goToCheckout(orderId, token));
}

async function cancel() {
  await act(async () => {
    view.update(await api(`/orders/${encodeURIComponent(orderId)}/cancel`, { method: 'POST', token }));
    // The buttons are gone: keep keyboard focus on what changed.
    ui.status.focus();
  });
}

/** Runs an action with both buttons disabled; shows its error, and the status it ran into. */
async function act(action) {
  showError(ui.error, null);
  ui.retry.disabled = ui.cancel.disabled = true;
  try {
    await action();
  } catch (error) {
    showError(ui.error, error);
    if (error instanceof ApiError && error.status === 409) {
      view.update(await api(`/orders/${encodeURIComponent(orderId)}`, { token }).catch(() => null));
    }
  } finally {
    ui.retry.disabled = ui.cancel.disabled = false;
  }
}
