// An order's status on screen, kept live over Socket.IO (namespace /orders, event order.status).
import { io } from '/socket.io/socket.io.esm.min.js';
import { formatMoney } from './money.js';

/** What each status means to the customer. Every text starts with the status word. */
const STATUS_TEXT = {
  pending: () => 'Waiting for your payment to be confirmed…',
  processing: () =>
    'Payment processing: your bank transfer is on its way. This page updates when it arrives.',
  paid: () => 'Payment received. Thank you for your order!',
  failed: (reason) => `Payment failed: ${reason || 'the payment did not go through.'}`,
  canceled: () => 'This order was canceled. Nothing was charged.',
};

/**
 * Renders an order's status into `element` (a `role="status"` region, `data-testid="order-status"`)
 * and tells `onChange` about each new one. A status older than the one shown (by `updatedAt`) is
 * ignored: a push and a snapshot may cross.
 */
export function statusView(element, onChange = () => {}) {
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
      if (!order || typeof order.status !== 'string' || !(order.status in STATUS_TEXT)) return;
      if (shown && Date.parse(order.updatedAt) < Date.parse(shown.updatedAt)) return;
      if (shown && shown.status === order.status && shown.reason === order.reason) {
        shown = { ...shown, updatedAt: order.updatedAt };
        return;
      }
      shown = { status: order.status, reason: order.reason ?? null, updatedAt: order.updatedAt };
      const word = document.createElement('strong');
      word.className = `status-word status-${order.status}`;
      word.textContent = order.status;
      element.replaceChildren(word, ' ', STATUS_TEXT[order.status](order.reason));
      element.dataset.status = order.status;
      onChange(shown);
    },
  };
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
