// The staff console: log in, then dashboard, orders, an order's timeline with refunds, the review
// queue and the webhook ledger, kept current over Socket.IO (/staff).
import { io } from '/socket.io/socket.io.esm.min.js';
import { api, ApiError, describe } from './api.js';
import { el, money, parseAmount, when } from './format.js';

const $ = (id) => document.getElementById(id);
const view = $('view');
let me = null;
let socket = null;
/** What the current view redraws on a live message, if anything. */
let onLive = null;

// ---------------------------------------------------------------------------------------------
// Session

async function start() {
  try {
    me = await api('/session');
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) return showLogin();
    throw error;
  }
  $('login').hidden = true;
  $('nav').hidden = false;
  $('who').hidden = false;
  $('who-email').textContent = `${me.email} (${me.role})`;
  connectLive();
  route();
}

function showLogin(message = '') {
  me = null;
  socket?.disconnect();
  socket = null;
  view.replaceChildren();
  $('nav').hidden = true;
  $('who').hidden = true;
  $('login').hidden = false;
  $('login-error').textContent = message;
  $('login-email').focus();
}

$('login-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  $('login-error').textContent = '';
  try {
    await api('/session', {
      method: 'POST',
      body: { email: $('login-email').value, password: $('login-password').value },
    });
    $('login-password').value = '';
    await start();
  } catch (error) {
    $('login-error').textContent = describe(error);
  }
});

$('logout').addEventListener('click', async () => {
  await api('/session', { method: 'DELETE' }).catch(() => undefined);
  location.hash = '';
  showLogin();
});

/** Any 401 on the way means the session ended: back to the login form. */
async function guarded(work) {
  try {
    return await work();
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) {
      showLogin('Your session ended. Log in again.');
      return undefined;
    }
    throw error;
  }
}

// ---------------------------------------------------------------------------------------------
// Live updates

function connectLive() {
  socket?.disconnect();
  socket = io('/staff', { transports: ['websocket'] });
  const status = $('live-status');
  socket.on('connect', () => {
    status.textContent = 'live';
    status.dataset.state = 'live';
  });
  socket.on('disconnect', () => {
    status.textContent = 'offline';
    status.dataset.state = 'offline';
  });
  socket.on('connect_error', () => {
    status.textContent = 'offline';
    status.dataset.state = 'offline';
  });
  socket.on('order.placed', (m) =>
    live(`New order ${short(m.orderId)}: ${money(m.totalAmount, m.currency)}`, m),
  );
  socket.on('order.updated', (m) =>
    live(`Order ${short(m.orderId)}: ${m.status}${m.reason ? ` (${m.reason})` : ''}`, m),
  );
  socket.on('review.flagged', (m) => live(`Needs review: order ${short(m.orderId)}`, m));
}

function live(text, message) {
  const toast = el('p', { class: 'toast', 'data-testid': 'toast' }, text);
  $('toasts').append(toast);
  setTimeout(() => toast.remove(), 6000);
  onLive?.(message);
}

const short = (id) => String(id).slice(0, 8);

// ---------------------------------------------------------------------------------------------
// Routing

window.addEventListener('hashchange', () => me && route());

function route() {
  onLive = null;
  const [path] = location.hash.split('?');
  const [, page = 'dashboard', id] = path.split('/');
  for (const link of document.querySelectorAll('#nav a')) {
    link.toggleAttribute('aria-current', link.getAttribute('href') === `#/${page}`);
  }
  const render = { dashboard, orders, order: () => order(id), reviews, ledger }[page] ?? dashboard;
  guarded(render).catch((error) =>
    view.replaceChildren(el('p', { class: 'error', role: 'alert' }, describe(error))),
  );
}

function heading(text) {
  return el('h1', { tabindex: '-1' }, text);
}

function sums(rows) {
  if (!rows.length) return '0';
  return rows.map((r) => `${money(r.amount, r.currency)} (${r.orders})`).join(', ');
}

// ---------------------------------------------------------------------------------------------
// Dashboard

async function dashboard() {
  const d = await api('/dashboard');
  view.replaceChildren(
    heading('Dashboard'),
    el(
      'div',
      { class: 'stats' },
      stat('Paid today', sums(d.paidToday), 'stat-paid-today'),
      stat('Revenue, 30 days', sums(d.revenue30Days), 'stat-revenue'),
      stat('Open review items', d.openReviewItems, 'stat-open-reviews', '#/reviews'),
      stat(
        'Webhook failures, 24 h',
        `${d.webhookFailures24h} of ${d.webhookEvents24h}`,
        'stat-webhook-failures',
        '#/ledger',
      ),
    ),
  );
  onLive = () => void guarded(dashboard);
}

function stat(label, value, testid, href) {
  const body = [el('span', { class: 'stat-label' }, label), el('strong', { 'data-testid': testid }, value)];
  return href ? el('a', { class: 'stat', href }, ...body) : el('div', { class: 'stat' }, ...body);
}

// ---------------------------------------------------------------------------------------------
// Orders

const STATUSES = [
  '',
  'pending',
  'processing',
  'paid',
  'failed',
  'canceled',
  'partially_refunded',
  'refunded',
];
let orderFilters = {};

async function orders() {
  const form = el(
    'form',
    { class: 'filters', 'data-testid': 'order-filters' },
    el(
      'label',
      {},
      'Status',
      el(
        'select',
        { name: 'status', 'data-testid': 'filter-status' },
        ...STATUSES.map((s) => el('option', { value: s }, s || 'any')),
      ),
    ),
    el('label', {}, 'E-mail', el('input', { name: 'email', type: 'search', 'data-testid': 'filter-email' })),
    el('label', {}, 'From', el('input', { name: 'from', type: 'date', 'data-testid': 'filter-from' })),
    el('label', {}, 'To', el('input', { name: 'to', type: 'date', 'data-testid': 'filter-to' })),
    el(
      'label',
      {},
      'Min amount',
      el('input', { name: 'minAmount', inputmode: 'decimal', 'data-testid': 'filter-min' }),
    ),
    el(
      'label',
      {},
      'Max amount',
      el('input', { name: 'maxAmount', inputmode: 'decimal', 'data-testid': 'filter-max' }),
    ),
    el('button', { type: 'submit', 'data-testid': 'filter-apply' }, 'Search'),
  );
  for (const [name, value] of Object.entries(orderFilters))
    if (form.elements[name]) form.elements[name].value = value;
  const body = el('tbody');
  const more = el(
    'button',
    { type: 'button', class: 'secondary', hidden: true, 'data-testid': 'load-more' },
    'More',
  );
  const csv = el('a', { class: 'button secondary', 'data-testid': 'export-csv' }, 'Export CSV');
  const message = el('p', { class: 'muted' });
  view.replaceChildren(
    heading('Orders'),
    form,
    el(
      'table',
      { class: 'table', 'data-testid': 'orders-table' },
      el(
        'thead',
        {},
        el(
          'tr',
          {},
          ...['Placed', 'Order', 'Customer', 'Status', 'Total', 'Refunded'].map((h) => el('th', {}, h)),
        ),
      ),
      body,
    ),
    message,
    el('p', { class: 'actions' }, more, csv),
  );

  let cursor = null;
  const query = () => {
    const params = new URLSearchParams();
    const f = orderFilters;
    if (f.status) params.set('status', f.status);
    if (f.email) params.set('email', f.email);
    if (f.from) params.set('from', new Date(`${f.from}T00:00:00`).toISOString());
    if (f.to) params.set('to', new Date(new Date(`${f.to}T00:00:00`).getTime() + 86_400_000).toISOString());
    for (const key of ['minAmount', 'maxAmount']) {
      const amount = parseAmount(f[key] ?? '', 'usd');
      if (amount !== undefined && !Number.isNaN(amount)) params.set(key, String(amount));
    }
    return params;
  };
  const load = async (append) => {
    const params = query();
    csv.href = `/api/admin/orders/export.csv?${params}`;
    if (append && cursor) params.set('cursor', cursor);
    const page = await api(`/orders?${params}`);
    if (!append) body.replaceChildren();
    for (const o of page.items) body.append(orderRow(o));
    cursor = page.nextCursor;
    more.hidden = !cursor;
    message.textContent = body.children.length ? '' : 'No orders match.';
  };
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    orderFilters = Object.fromEntries(new FormData(form));
    guarded(() => load(false)).catch((error) => (message.textContent = describe(error)));
  });
  more.addEventListener('click', () => guarded(() => load(true)));
  await load(false);
  onLive = (m) => {
    const row = body.querySelector(`[data-order-id="${m.orderId}"]`);
    if (row && m.status) {
      const cell = row.querySelector('[data-testid="order-status"]');
      cell.textContent = m.status;
      cell.dataset.status = m.status;
    } else if (!row && 'totalAmount' in m && !cursor) void guarded(() => load(false));
  };
}

function orderRow(o) {
  return el(
    'tr',
    { 'data-testid': 'order-row', dataset: { orderId: o.id } },
    el('td', { 'data-label': 'Placed' }, when(o.createdAt)),
    el(
      'td',
      { 'data-label': 'Order' },
      el('a', { href: `#/order/${o.id}`, 'data-testid': 'order-link' }, short(o.id)),
    ),
    el('td', { 'data-label': 'Customer' }, o.customerEmail),
    el(
      'td',
      { 'data-label': 'Status', 'data-testid': 'order-status', dataset: { status: o.status } },
      o.status,
      o.needsReview ? ' ⚑' : '',
      o.dispute ? ` (dispute ${o.dispute})` : '',
    ),
    el('td', { 'data-label': 'Total' }, money(o.totalAmount, o.currency)),
    el('td', { 'data-label': 'Refunded' }, o.refundedAmount ? money(o.refundedAmount, o.currency) : '–'),
  );
}

// ---------------------------------------------------------------------------------------------
// One order

async function order(id) {
  const o = await api(`/orders/${encodeURIComponent(id ?? '')}`);
  const left =
    o.checkoutAttempts.filter((a) => a.status === 'succeeded').reduce((sum, a) => sum + a.amount, 0) -
    o.refunds
      .filter((r) => ['creating', 'pending', 'requires_action', 'succeeded'].includes(r.status))
      .reduce((s, r) => s + r.amount, 0);
  const canRefund = me.role !== 'viewer' && left > 0;
  view.replaceChildren(
    el('p', {}, el('a', { href: '#/orders' }, '← Orders')),
    heading(`Order ${short(o.id)}`),
    el(
      'dl',
      { class: 'facts', 'data-testid': 'order-detail', dataset: { status: o.status } },
      el('dt', {}, 'Status'),
      el(
        'dd',
        { 'data-testid': 'order-status', dataset: { status: o.status } },
        o.status,
        o.reason ? ` — ${o.reason}` : '',
      ),
      el('dt', {}, 'Customer'),
      el('dd', {}, o.customerEmail),
      el('dt', {}, 'Total'),
      el('dd', {}, money(o.totalAmount, o.currency)),
      el('dt', {}, 'Refunded'),
      el('dd', { 'data-testid': 'refunded-amount' }, money(o.refundedAmount, o.currency)),
      o.dispute ? [el('dt', {}, 'Dispute'), el('dd', { 'data-testid': 'order-dispute' }, o.dispute)] : null,
      o.needsReview ? [el('dt', {}, 'Review'), el('dd', {}, o.reviewReason ?? 'flagged')] : null,
    ),
    canRefund
      ? el(
          'p',
          {},
          el(
            'button',
            { type: 'button', 'data-testid': 'refund-open', onclick: () => openRefund(o, left) },
            'Refund…',
          ),
        )
      : null,
    el('h2', {}, 'Items'),
    el(
      'ul',
      {},
      ...o.items.map((i) => el('li', {}, `${i.quantity} × ${i.name} at ${money(i.unitAmount, o.currency)}`)),
    ),
    el('h2', {}, 'Timeline'),
    el(
      'ol',
      { class: 'timeline', 'data-testid': 'timeline' },
      ...o.history.map((h) =>
        el(
          'li',
          { class: h.internal ? 'internal' : '', 'data-testid': 'timeline-entry' },
          el('time', {}, when(h.occurredAt)),
          ` ${h.from && h.from !== h.to ? `${h.from} → ` : ''}${h.to}: ${h.reason}`,
          el(
            'span',
            { class: 'muted' },
            ` (${h.source}${h.sourceRef ? ` ${h.sourceRef}` : ''}${h.internal ? ', staff only' : ''})`,
          ),
        ),
      ),
    ),
    el('h2', {}, 'Refunds'),
    o.refunds.length
      ? el(
          'ul',
          { 'data-testid': 'refunds' },
          ...o.refunds.map((r) =>
            el(
              'li',
              { 'data-testid': 'refund', dataset: { status: r.status } },
              `${money(r.amount, r.currency)} ${r.status}`,
              r.failureReason ? ` (${r.failureReason})` : '',
              ` — ${r.reason} — ${r.requestedBy ?? 'at Stripe'}, ${when(r.createdAt)}`,
            ),
          ),
        )
      : el('p', { class: 'muted' }, 'None.'),
    el('h2', {}, 'Disputes'),
    o.disputes.length
      ? el(
          'ul',
          {},
          ...o.disputes.map((d) =>
            el(
              'li',
              {},
              `${money(d.amount, d.currency)} ${d.reason}: ${d.status}`,
              d.evidenceDueBy ? `, evidence due ${when(d.evidenceDueBy)}` : '',
            ),
          ),
        )
      : el('p', { class: 'muted' }, 'None.'),
    el('h2', {}, 'Checkout attempts'),
    el(
      'ul',
      {},
      ...o.checkoutAttempts.map((a) =>
        el(
          'li',
          {},
          `#${a.attempt} ${a.status} ${money(a.amount, a.currency)} ${a.sessionId ?? ''}`,
          a.failureMessage ? ` (${a.failureMessage})` : '',
        ),
      ),
    ),
    el('h2', {}, 'Webhook events'),
    ledgerTable(o.webhookEvents),
  );
  onLive = (m) => {
    if (m.orderId === o.id) void guarded(() => order(o.id));
  };
}

// ---------------------------------------------------------------------------------------------
// Refund dialog: amount and reason, then a confirmation naming the amount, then the call.

function openRefund(o, left) {
  const dialog = $('refund-dialog');
  const amountInput = $('refund-amount');
  const reasonInput = $('refund-reason');
  const error = $('refund-error');
  const confirmText = $('refund-confirm-text');
  let amount;
  // One key per dialog: a double click or a retry after a lost answer is the same refund.
  const key = crypto.randomUUID();
  const editing = (on) => {
    $('refund-step-edit').hidden = !on;
    $('refund-continue').hidden = !on;
    $('refund-confirm').hidden = on;
    confirmText.hidden = on;
  };
  amountInput.value = '';
  reasonInput.value = '';
  error.textContent = '';
  $('refund-left').textContent = `Up to ${money(left, o.currency)} can be refunded.`;
  editing(true);
  $('refund-continue').onclick = () => {
    amount = parseAmount(amountInput.value, o.currency);
    if (Number.isNaN(amount) || amount === 0)
      return void (error.textContent = 'Enter an amount such as 12.50, or leave it empty.');
    if (amount !== undefined && amount > left)
      return void (error.textContent = `At most ${money(left, o.currency)} can be refunded.`);
    if (!reasonInput.value.trim()) return void (error.textContent = 'Say why.');
    error.textContent = '';
    confirmText.textContent = `Refund ${money(amount ?? left, o.currency)} to ${o.customerEmail}? This cannot be undone.`;
    editing(false);
  };
  $('refund-confirm').onclick = async () => {
    $('refund-confirm').disabled = true;
    try {
      await guarded(() =>
        api(`/orders/${o.id}/refunds`, {
          method: 'POST',
          body: { ...(amount === undefined ? {} : { amount }), reason: reasonInput.value.trim() },
          headers: { 'Idempotency-Key': key },
        }),
      );
      dialog.close();
      await guarded(() => order(o.id));
    } catch (e) {
      error.textContent = describe(e);
    } finally {
      $('refund-confirm').disabled = false;
    }
  };
  $('refund-cancel').onclick = () => dialog.close();
  dialog.showModal();
}

// ---------------------------------------------------------------------------------------------
// Review queue

async function reviews() {
  const state = new URLSearchParams(location.hash.split('?')[1] ?? '').get('state') ?? 'open';
  const page = await api(`/reviews?state=${state}&limit=200`);
  view.replaceChildren(
    heading('Review queue'),
    el(
      'p',
      { class: 'tabs' },
      ...['open', 'resolved', 'all'].map((s) =>
        el('a', { href: `#/reviews?state=${s}`, 'aria-current': s === state ? 'page' : null }, s),
      ),
    ),
    page.items.length
      ? el('ul', { class: 'cards' }, ...page.items.map(reviewCard))
      : el('p', { class: 'muted', 'data-testid': 'reviews-empty' }, 'Nothing to review.'),
  );
  onLive = (m) => {
    if ('reason' in m && !('status' in m)) void guarded(reviews);
  };
}

function reviewCard(item) {
  const note = el('input', {
    'aria-label': 'Resolution note',
    placeholder: 'What did you do?',
    maxlength: 2000,
    'data-testid': 'review-note',
  });
  const error = el('p', { class: 'error', role: 'alert' });
  const resolve = el('button', { type: 'submit', 'data-testid': 'review-resolve' }, 'Resolve');
  const form = el('form', { class: 'inline' }, note, resolve, error);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    if (!note.value.trim()) return void (error.textContent = 'A note is required.');
    try {
      await guarded(() => api(`/reviews/${item.id}/resolve`, { method: 'POST', body: { note: note.value } }));
      await guarded(reviews);
    } catch (e) {
      error.textContent = describe(e);
    }
  });
  return el(
    'li',
    { class: 'card', 'data-testid': 'review-row', dataset: { reviewId: item.id, kind: item.kind } },
    el(
      'p',
      {},
      el('strong', {}, item.kind.replace(/_/g, ' ')),
      ` · ${when(item.createdAt)}`,
      item.orderId ? ' · ' : '',
      item.orderId ? el('a', { href: `#/order/${item.orderId}` }, `order ${short(item.orderId)}`) : '',
    ),
    el('p', {}, item.reason),
    item.resolvedAt
      ? el(
          'p',
          { class: 'muted' },
          `Resolved by ${item.resolvedBy}, ${when(item.resolvedAt)}: ${item.resolution}`,
        )
      : me.role !== 'viewer'
        ? form
        : null,
  );
}

// ---------------------------------------------------------------------------------------------
// Webhook ledger

const OUTCOMES = ['', 'applied', 'ignored', 'unmatched', 'mismatch', 'malformed'];

async function ledger() {
  const params = new URLSearchParams(location.hash.split('?')[1] ?? '');
  const outcome = params.get('outcome') ?? '';
  const type = params.get('type') ?? '';
  const query = new URLSearchParams({ limit: '200' });
  if (outcome) query.set('outcome', outcome);
  if (type) query.set('type', type);
  const page = await api(`/webhook-events?${query}`);
  const form = el(
    'form',
    { class: 'filters' },
    el(
      'label',
      {},
      'Outcome',
      el(
        'select',
        { name: 'outcome', 'data-testid': 'ledger-filter-outcome' },
        ...OUTCOMES.map((o) => el('option', { value: o, selected: o === outcome }, o || 'any')),
      ),
    ),
    el(
      'label',
      {},
      'Type',
      el('input', {
        name: 'type',
        value: type,
        placeholder: 'charge.refunded',
        'data-testid': 'ledger-filter-type',
      }),
    ),
    el('button', { type: 'submit' }, 'Filter'),
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const chosen = new URLSearchParams([...new FormData(form)].filter(([, v]) => v));
    location.hash = `#/ledger?${chosen}`;
  });
  view.replaceChildren(
    heading('Webhook events'),
    form,
    el('p', { class: 'message', 'data-testid': 'ledger-message', role: 'status' }),
    ledgerTable(page.items, true),
  );
}

function ledgerTable(rows, replayable = false) {
  if (!rows.length) return el('p', { class: 'muted' }, 'None.');
  return el(
    'table',
    { class: 'table' },
    el(
      'thead',
      {},
      el(
        'tr',
        {},
        ...['Received', 'Event', 'Type', 'Outcome', 'Deliveries', 'Detail', ''].map((h) => el('th', {}, h)),
      ),
    ),
    el(
      'tbody',
      {},
      ...rows.map((e) =>
        el(
          'tr',
          { 'data-testid': 'ledger-row', dataset: { eventId: e.id, outcome: e.outcome ?? '' } },
          el('td', { 'data-label': 'Received' }, when(e.receivedAt)),
          el('td', { 'data-label': 'Event' }, e.id),
          el('td', { 'data-label': 'Type' }, e.type),
          el('td', { 'data-label': 'Outcome', 'data-testid': 'ledger-outcome' }, e.outcome ?? ''),
          el('td', { 'data-label': 'Deliveries' }, e.deliveries),
          el(
            'td',
            { 'data-label': 'Detail' },
            e.orderId ? el('a', { href: `#/order/${e.orderId}` }, e.detail ?? '') : (e.detail ?? ''),
          ),
          el(
            'td',
            {},
            replayable && me.role !== 'viewer' && ['unmatched', 'ignored', 'malformed'].includes(e.outcome)
              ? el(
                  'button',
                  {
                    type: 'button',
                    class: 'secondary',
                    'data-testid': 'ledger-replay',
                    onclick: () => replay(e.id),
                  },
                  'Replay',
                )
              : '',
          ),
        ),
      ),
    ),
  );
}

async function replay(id) {
  const message = document.querySelector('[data-testid="ledger-message"]');
  try {
    const result = await guarded(() =>
      api(`/webhook-events/${encodeURIComponent(id)}/replay`, { method: 'POST' }),
    );
    if (!result) return;
    await guarded(ledger);
    document.querySelector('[data-testid="ledger-message"]').textContent =
      `Replayed ${result.eventId}: ${result.previousOutcome} → ${result.outcome} (${result.detail})`;
  } catch (error) {
    message.textContent = describe(error);
  }
}

start().catch((error) => view.replaceChildren(el('p', { class: 'error', role: 'alert' }, describe(error))));
