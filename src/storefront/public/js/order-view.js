// An order's status on screen, kept live over Socket.IO (namespace /orders, event order.status).
import { io } from '/socket.io/socket.io.esm.min.js';
import { formatMoney } from './money.js';

/** An order that failed because its Checkout Session ran out of time (the service's reason). */
const EXPIRED_REASON = 'Checkout expired';

/**
 * What the page tells the customer: the order's status, except that a failure by expiry is shown
 * as `expired` (nothing went wrong with the payment; the time to pay ran out).
 */
export function displayState(order) {
  return order.status === 'failed' && order.reason === EXPIRED_REASON ? 'expired' : order.status;
}

/**
 * Renders an order's status into `element` (a `role="status"` region, `data-testid="order-status"`):
 * the state word, then `texts[state].message(reason)`; the page's heading and title become
 * `texts[state].title`. `data-status` holds the order's status, `data-state` the state shown.
 * `onChange` hears about each new state. A status older than the one shown (by `updatedAt`) is
 * ignored: a push and a snapshot may cross.
 */
export function statusView(element, { texts, heading, onChange = () => {} }) {
  let shown = null;
  return {
    get current() {
      return shown;
    },
    /** Shows a line while no status is known yet. */
    note(text) {
      if (!shown) element.textContent = text;
    },
    update(order) {
      if (!order || typeof order.status !== 'string') return;
      const state = displayState(order);
      if (!(state in texts)) return;
      if (shown && Date.parse(order.updatedAt) < Date.parse(shown.updatedAt)) return;
      if (shown && shown.status === order.status && shown.reason === (order.reason ?? null)) {
        shown = { ...shown, updatedAt: order.updatedAt };
        return;
      }
      shown = { status: order.status, state, reason: order.reason ?? null, updatedAt: order.updatedAt };
      const word = document.createElement('strong');
      word.className = `status-word status-${state}`;
      word.textContent = state;
      element.replaceChildren(word, ' ', texts[state].message(order.reason));
      element.dataset.status = order.status;
      element.dataset.state = state;
      element.hidden = false;
      heading.textContent = texts[state].title;
      document.title = `${texts[state].title}: Payflow Coffee`;
      onChange(shown);
    },
  };
}

/**
 * The page for an order this browser cannot open (no token here, a wrong one, an unknown id): one
 * heading, one message, a way back. Nothing about payments, nothing waiting.
 */
export function showOrderNotFound({ heading, status, error, hide = [] }) {
  heading.textContent = 'Order not found';
  document.title = 'Order not found: Payflow Coffee';
  status.hidden = true;
  status.removeAttribute('data-status');
  for (const element of hide) element.hidden = true;
  error.replaceChildren();
  const text = document.createElement('p');
  text.textContent = "We can't find this order. An order opens only in the browser it was placed from.";
  error.append(text);
}

/** Lists the order's lines and total in `element`; does nothing for an answer without items. */
export function renderSummary(element, order) {
  if (!Array.isArray(order?.items) || typeof order.currency !== 'string') return;
  const list = document.createElement('ul');
  list.className = 'summary-lines';
  for (const item of order.items) {
    const line = document.createElement('li');
    const name = document.createElement('span');
    name.textContent = `${item.quantity} × ${item.name}`;
    const amount = document.createElement('span');
    amount.textContent = formatMoney(item.lineAmount ?? item.unitAmount * item.quantity, order.currency);
    line.append(name, amount);
    list.append(line);
  }
  const total = document.createElement('p');
  total.className = 'summary-total';
  total.textContent = `Total ${formatMoney(order.totalAmount, order.currency)}`;
  element.replaceChildren(list, total);
  element.hidden = false;
}

/**
 * Follows the order live. The server sends `order.status` at once on (re)connecting and on every
 * change; socket.io reconnects by itself after a network loss, and the status it missed comes with
 * the reconnection. A refused handshake (`connect_error` "Order not found", `data.code`
 * "ORDERS.NOT_FOUND") is final; "UNAVAILABLE" (the database had a moment) is retried.
 */
export function followOrder({ orderId, token, onStatus, onRefused, onConnection = () => {} }) {
  const socket = io('/orders', { auth: { orderId, token } });
  socket.on('order.status', (message) => {
    if (message?.orderId === orderId) onStatus(message);
  });
  socket.on('connect', () => onConnection(true));
  socket.on('disconnect', () => onConnection(false));
  socket.on('connect_error', (error) => {
    onConnection(false);
    // A transport failure is retried by socket.io itself; a refusal by the server is not.
    if (socket.active) return;
    if (error?.data?.code === 'ORDERS.NOT_FOUND') return onRefused(error.data);
    // The server could not read the order just now: ask again a little later.
    setTimeout(() => socket.connect(), 5000);
  });
  return () => socket.close();
}
