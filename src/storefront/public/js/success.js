// The page Stripe sends the customer back to: /checkout/success?orderId=<id>&session_id=<cs_…>.
// It asks the service to confirm the session with Stripe, then shows the order's status live.
import { api, ApiError, goToCheckout, showError } from './api.js';
import { followOrder, renderSummary, showOrderNotFound, statusView } from './order-view.js';
import { SUCCESS_TEXTS } from './order-texts.js';
import { orderTokens, pendingOrder, savedCart } from './storage.js';

const $ = (id) => document.getElementById(id);
const ui = {
  title: $('title'),
  status: $('order-status'),
  connection: $('connection'),
  error: $('error'),
  retry: $('retry'),
  receipt: $('receipt'),
  summary: $('summary'),
  summaryBody: $('summary-body'),
  orderId: $('order-id'),
};

const params = new URLSearchParams(location.search);
const orderId = params.get('orderId');
const sessionId = params.get('session_id');
const token = orderId ? orderTokens.get(orderId) : null;
let stopFollowing = () => {};
let notFound = false;

const view = statusView(ui.status, {
  texts: SUCCESS_TEXTS,
  heading: ui.title,
  onChange: ({ status, state }) => {
    showError(ui.error, null);
    ui.retry.hidden = state !== 'failed' && state !== 'expired';
    ui.retry.textContent = state === 'expired' ? 'Pay now' : 'Try again';
    ui.receipt.hidden = status !== 'paid' || !ui.receipt.querySelector('a');
    // The cart became this order; once the money is on its way, it is done.
    if (status === 'paid' || status === 'processing') {
      savedCart.clear();
      pendingOrder.clear(orderId);
    }
    if (status === 'canceled') pendingOrder.clear(orderId);
  },
});

void main();

async function main() {
  if (!orderId || !token) return notFoundHere();
  ui.orderId.textContent = orderId;
  ui.retry.addEventListener('click', () => void retry());
  void offerMailbox();

  // Live first: if the webhook already told the service, the status is here at once.
  stopFollowing = followOrder({
    orderId,
    token,
    onStatus: (message) => view.update(message),
    onRefused: () => notFoundHere(),
    onConnection: (connected) => {
      ui.connection.textContent = connected || notFound ? '' : 'Live updates paused: reconnecting…';
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

function notFoundHere() {
  notFound = true;
  stopFollowing();
  showOrderNotFound({
    heading: ui.title,
    status: ui.status,
    error: ui.error,
    hide: [ui.connection, ui.retry, ui.summary, ui.receipt],
  });
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
    if (error instanceof ApiError && error.code === 'ORDERS.NOT_FOUND') notFoundHere();
    // Otherwise Stripe's webhook still tells the service, and the status below follows.
    else view.note('We could not confirm your payment yet. This page updates as soon as we hear.');
    return null;
  }
}

async function load() {
  if (notFound) return null;
  try {
    return await api(`/orders/${encodeURIComponent(orderId)}`, { token });
  } catch (error) {
    if (error instanceof ApiError && error.code === 'ORDERS.NOT_FOUND') notFoundHere();
    else if (!view.current) showError(ui.error, error);
    return null;
  }
}

/** With the offline Stripe sandbox, the receipt Stripe would have e-mailed is in its mailbox. */
async function offerMailbox() {
  const settings = await api('/storefront').catch(() => null);
  const mailbox = settings?.sandbox?.mailboxUrl;
  if (typeof mailbox !== 'string') return;
  const link = document.createElement('a');
  link.href = mailbox;
  link.textContent = 'See the receipt in the test mailbox';
  link.dataset.testid = 'receipt-link';
  ui.receipt.replaceChildren('Test mode: no e-mail leaves this shop. ', link, '.');
  ui.receipt.hidden = view.current?.status !== 'paid';
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
