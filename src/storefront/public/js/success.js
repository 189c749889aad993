// The page Stripe sends the customer back to: /checkout/success?orderId=<id>&session_id=<cs_…>.
// It asks the service to confirm the session with Stripe, then shows the order's status live.
import { api, ApiError, goToCheckout, showError } from './api.js';
import { followOrder, renderSummary, statusView } from './order-view.js';
import { orderTokens, savedCart } from './storage.js';

const TITLES = {
  pending: 'Your order',
  processing: 'Payment on its way',
  paid: 'Thank you!',
  failed: 'Payment failed',
  canceled: 'Order canceled',
};

const $ = (id) => document.getElementById(id);
const ui = {
  title: $('title'),
  status: $('order-status'),
  connection: $('connection'),
  error: $('error'),
  retry: $('retry'),
  summary: $('summary'),
  summaryBody: $('summary-body'),
  orderId: $('order-id'),
};

const params = new URLSearchParams(location.search);
const orderId = params.get('orderId');
const sessionId = params.get('session_id');
const token = orderId ? orderTokens.get(orderId) : null;

const view = statusView(ui.status, ({ status }) => {
  ui.title.textContent = TITLES[status];
  document.title = `${TITLES[status]}: Payflow Coffee`;
  ui.retry.hidden = status !== 'failed';
  // The cart became this order; once the money is on its way, it is done.
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

  // Live first: if the webhook already told the service, the status is here at once.
  followOrder({
    orderId,
    token,
    onStatus: (message) => view.update(message),
    onRefused: (error) => showError(ui.error, new ApiError(404, error)),
    onConnection: (connected) => {
      ui.connection.textContent = connected ? '' : 'Live updates paused: reconnecting…';
    },
  });

  const confirmed = sessionId ? await confirm() : null;
  if (confirmed) view.update(confirmed);
  const order = Array.isArray(confirmed?.items) ? confirmed : await load();
  if (order) {
    renderSummary(ui.summaryBody, order);
    ui.summary.hidden = false;
    view.update(order);
  }
}

/** Asks the service to check the Checkout Session with Stripe and apply its outcome. */
async function confirm() {
  try {
    return await api(`/orders/${encodeURIComponent(orderId)}/checkout/confirm`, {
      method: 'POST',
      token,
      body: { sessionId },
    });
  } catch (error) {
    if (error instanceof ApiError && error.code === 'ORDERS.NOT_FOUND') showError(ui.error, error);
    // Otherwise Stripe's webhook still tells the service, and the status below follows.
    else view.note('We could not confirm your payment yet. This page updates as soon as we hear.');
    return null;
  }
}

async function load() {
  try {
    return await api(`/orders/${encodeURIComponent(orderId)}`, { token });
  } catch (error) {
    showError(ui.error, error);
    return null;
  }
}

async function retry() {
  showError(ui.error, null);
  ui.retry.disabled = true;
  try {
    await goToCheckout(orderId, token);
  } catch (error) {
    ui.retry.disabled = false;
    showError(ui.error, error);
    if (error instanceof ApiError && error.code === 'ORDERS.NOT_PAYABLE') view.update(await load());
  }
}
