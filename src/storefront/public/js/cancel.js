// The page Stripe sends the customer to when they leave Checkout: /checkout/cancel?orderId=<id>.
// The order is still payable: pay it (a new or the same Checkout Session) or cancel it.
import { api, ApiError, goToCheckout, showError } from './api.js';
import { followOrder, renderSummary, statusView } from './order-view.js';
import { orderTokens, savedCart } from './storage.js';

const PAYABLE = new Set(['pending', 'failed']);

const $ = (id) => document.getElementById(id);
const ui = {
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

const view = statusView(ui.status, ({ status }) => {
  ui.retry.hidden = !PAYABLE.has(status);
  ui.cancel.hidden = !PAYABLE.has(status);
  if (status === 'paid' || status === 'processing') savedCart.clear();
});

void main();

async function main() {
  if (!orderId || !token) {
    ui.status.textContent = "We can't show this order here.";
    showError(ui.error, new ApiError(404, { code: 'ORDERS.NOT_FOUND' }));
    return;
  }
  ui.orderId.textContent = orderId;
  ui.retry.addEventListener('click', () => void retry());
  ui.cancel.addEventListener('click', () => void cancel());
  ui.status.tabIndex = -1;

  followOrder({
    orderId,
    token,
    onStatus: (message) => view.update(message),
    onRefused: (error) => showError(ui.error, new ApiError(404, error)),
  });
  try {
    const order = await api(`/orders/${encodeURIComponent(orderId)}`, { token });
    renderSummary(ui.summaryBody, order);
    view.update(order);
  } catch (error) {
    ui.status.textContent = "We can't show this order right now.";
    showError(ui.error, error);
  }
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
