import { markup, page } from '../html';
import type { CheckoutSessionRecord, DeliveryRecord, EventRecord } from '../sandbox.store';
import { formatAmount } from '../stripe/currencies';
import type { ChaosSettings } from '../webhooks/webhook.dispatcher';

function time(ms: number): string {
  return new Date(ms)
    .toISOString()
    .replace('T', ' ')
    .replace(/\.\d+Z$/, 'Z');
}

function delivery(d: DeliveryRecord): ReturnType<typeof markup> {
  return markup`<li>
    ${d.copy > 1 ? markup`<span class="badge">duplicate</span> ` : ''}${d.status}${d.nextAttemptAt ? markup`, next attempt ${time(d.nextAttemptAt)}` : ''}
    <ol>
      ${d.attempts.map(
        (a) =>
          markup`<li>
            <span class="${a.statusCode !== null && a.statusCode < 300 ? 'ok' : 'bad'}"
              >${a.statusCode ?? a.error}</span
            >
            <span class="muted">${time(a.at)}, ${a.durationMs} ms</span>
          </li>`,
      )}
    </ol>
  </li>`;
}

/** `GET /`: the sandbox's "dashboard": sessions, events and every delivery attempt with its answer. */
export function dashboardPage(state: {
  baseUrl: string;
  webhookUrl: string;
  sessions: CheckoutSessionRecord[];
  events: EventRecord[];
  chaos: ChaosSettings;
  advancedSeconds: number;
  pendingTimers: number;
}): string {
  const { chaos } = state;
  const body = markup` <h1>Stripe sandbox <span class="badge">Test mode</span></h1>
    <p class="muted">
      API <code>${state.baseUrl}/v1</code> · webhooks to <code>${state.webhookUrl}</code> · clock advanced by
      ${state.advancedSeconds} s · ${state.pendingTimers} pending timers
    </p>
    <form method="post" action="/_sandbox/clock/advance">
      <label for="seconds">Advance the clock (seconds)</label>
      <input id="seconds" name="seconds" type="text" inputmode="numeric" value="3600" style="width:10em" />
      <button type="submit" style="width:auto;padding:8px 16px">Advance</button>
    </form>
    <p class="muted">
      Chaos: duplicates ${chaos.duplicates ? 'on' : 'off'}, out of order ${chaos.outOfOrder ? 'on' : 'off'},
      delay ${chaos.delaySeconds} s (<code>POST /_sandbox/chaos</code>)
    </p>

    <h2 id="sessions">Checkout Sessions</h2>
    <table aria-labelledby="sessions">
      <thead>
        <tr>
          <th scope="col">Session</th>
          <th scope="col">Status</th>
          <th scope="col">Payment</th>
          <th scope="col" class="num">Amount</th>
        </tr>
      </thead>
      <tbody>
        ${state.sessions.map(
          (s) =>
            markup`<tr>
              <td>${s.status === 'open' ? markup`<a href="${s.url}">${s.id}</a>` : s.id}</td>
              <td>${s.status}</td>
              <td>${s.paymentStatus}</td>
              <td class="num">${formatAmount(s.amountTotal, s.currency)}</td>
            </tr>`,
        )}
      </tbody>
    </table>

    <h2 id="events">Events and deliveries</h2>
    <table aria-labelledby="events">
      <thead>
        <tr>
          <th scope="col">Created</th>
          <th scope="col">Event</th>
          <th scope="col">Deliveries (attempts: response)</th>
        </tr>
      </thead>
      <tbody>
        ${state.events.map(
          (e) =>
            markup`<tr>
              <td>${time(e.created * 1000)}</td>
              <td>
                <code>${e.type}</code><br /><span class="muted">${e.id}<br />${e.objectId}</span>
              </td>
              <td>
                <ul>
                  ${e.deliveries.map(delivery)}
                </ul>
              </td>
            </tr>`,
        )}
      </tbody>
    </table>`;
  return page('Stripe sandbox', body);
}
