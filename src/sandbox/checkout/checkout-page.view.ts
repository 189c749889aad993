import { markup, page, type RawHtml } from '../html';
import type { CheckoutSessionRecord } from '../sandbox.store';
import { formatAmount } from '../stripe/currencies';
import { FAILING_BANK_ACCOUNTS, TEST_ROUTING_NUMBER } from '../stripe/test-payment-methods';

/** What the customer typed, shown again after an error (never the CVC). */
export interface CheckoutFormValues {
  email?: string;
  method?: string;
  cardNumber?: string;
  expiry?: string;
  name?: string;
  accountNumber?: string;
}

export interface CheckoutFormError {
  message: string;
  /** The form field at fault, marked invalid. */
  field?: string;
}

function summary(session: CheckoutSessionRecord): RawHtml {
  const total = formatAmount(session.amountTotal, session.currency);
  return markup`<section class="panel" aria-labelledby="summary-heading">
    <p class="muted">${session.displayName} <span class="badge">Test mode</span></p>
    <h1 id="summary-heading">Pay ${session.displayName}</h1>
    <p class="total" data-testid="total">${total}</p>
    <table>
      <caption class="muted" style="text-align:left">
        Order summary
      </caption>
      <thead>
        <tr>
          <th scope="col">Item</th>
          <th scope="col" class="num">Qty</th>
          <th scope="col" class="num">Amount</th>
        </tr>
      </thead>
      <tbody>
        ${session.lineItems.map(
          (item) =>
            markup`<tr>
              <td>
                ${item.description}<br /><span class="muted"
                  >${formatAmount(item.price.unitAmount, item.price.currency)} each</span
                >
              </td>
              <td class="num">${item.quantity}</td>
              <td class="num">${formatAmount(item.amount, item.price.currency)}</td>
            </tr>`,
        )}
      </tbody>
      <tfoot>
        <tr>
          <th scope="row" colspan="2">Total due</th>
          <td class="num"><strong>${total}</strong></td>
        </tr>
      </tfoot>
    </table>
  </section>`;
}

function backLink(session: CheckoutSessionRecord): RawHtml {
  return session.cancelUrl ? markup`<p><a href="${session.cancelUrl}">Cancel</a></p>` : markup``;
}

function field(
  id: string,
  label: string,
  values: CheckoutFormValues,
  error: CheckoutFormError | undefined,
  attributes: {
    autocomplete: string;
    inputmode?: string;
    placeholder?: string;
    type?: string;
    value?: string;
    readonly?: boolean;
    hint?: string;
  },
): RawHtml {
  const invalid = error?.field === id;
  const value = attributes.value ?? (values as Record<string, string | undefined>)[id] ?? '';
  return markup`<label for="${id}">${label}</label>
    <input
      id="${id}"
      name="${id}"
      type="${attributes.type ?? 'text'}"
      autocomplete="${attributes.autocomplete}"
      ${attributes.inputmode ? markup`inputmode="${attributes.inputmode}"` : ''}
      ${attributes.placeholder ? markup`placeholder="${attributes.placeholder}"` : ''}
      ${attributes.readonly ? markup`readonly` : ''}
      value="${value}"
      ${invalid ? markup` aria-invalid="true" aria-describedby="form-error"` : ''}
    />
    ${attributes.hint ? markup`<p class="hint" id="${id}-hint">${attributes.hint}</p>` : ''}`;
}

/** The hosted payment page: works without JavaScript, every field labelled, errors announced. */
export function checkoutPage(
  session: CheckoutSessionRecord,
  values: CheckoutFormValues = {},
  error?: CheckoutFormError,
): string {
  const total = formatAmount(session.amountTotal, session.currency);
  const offersBank = session.paymentMethodTypes.includes('us_bank_account');
  const method = values.method === 'us_bank_account' && offersBank ? 'us_bank_account' : 'card';
  const failing = Object.entries(FAILING_BANK_ACCOUNTS)
    .map(([number, failure]) => `${number} (${failure.code})`)
    .join(', ');
  const body = markup` ${backLink(session)}
    <div class="checkout">
      ${summary(session)}
      <section class="panel" aria-labelledby="pay-heading">
        <h2 id="pay-heading">Payment details</h2>
        ${error ? markup`<div class="alert" role="alert" id="form-error">${error.message}</div>` : ''}
        <form method="post" action="/c/pay/${session.id}" novalidate>
          ${field('email', 'Email', values, error, {
            type: 'email',
            autocomplete: 'email',
            value: session.customerEmail ?? values.email ?? '',
            readonly: session.customerEmail !== null,
          })}
          <fieldset class="choice">
            <legend>Payment method</legend>
            <label
              ><input type="radio" name="method" value="card" ${method === 'card' ? markup` checked` : ''} />
              Card</label
            >
            ${
              offersBank
                ? markup`<label
                    ><input
                      type="radio"
                      name="method"
                      value="us_bank_account"
                      ${method === 'us_bank_account' ? markup` checked` : ''}
                    />
                    US bank account</label
                  >`
                : ''
            }
          </fieldset>
          <fieldset class="method-card">
            <legend>Card</legend>
            ${field('cardNumber', 'Card number', values, error, {
              autocomplete: 'cc-number',
              inputmode: 'numeric',
              placeholder: '1234 1234 1234 1234',
            })}
            <div class="row">
              <div>
                ${field('expiry', 'Expiration (MM / YY)', values, error, { autocomplete: 'cc-exp', placeholder: 'MM / YY' })}
              </div>
              <div>
                ${field('cvc', 'CVC', {}, error, { autocomplete: 'cc-csc', inputmode: 'numeric', placeholder: 'CVC' })}
              </div>
            </div>
            <p class="hint">
              Test cards: 4242 4242 4242 4242 succeeds; 4000 0000 0000 0002 is declined, …9995 insufficient
              funds, …0069 expired card, …0127 incorrect CVC. Any future date, any CVC.
            </p>
          </fieldset>
          ${
            offersBank
              ? markup`<fieldset class="method-bank">
                  <legend>US bank account (ACH Direct Debit)</legend>
                  ${field('accountNumber', 'Account number', values, error, {
                    autocomplete: 'off',
                    inputmode: 'numeric',
                    hint: `Routing number ${TEST_ROUTING_NUMBER} (test bank). 000123456789 settles; ${failing} fail when they settle.`,
                  })}
                </fieldset>`
              : ''
          }
          ${field('name', 'Name on card or account', values, error, { autocomplete: 'name' })}
          <button type="submit">Pay ${total}</button>
        </form>
      </section>
    </div>`;
  return page(`Pay ${session.displayName}`, body);
}

/**
 * A session that can no longer be paid: complete, or expired (by its time running out, or by the
 * shop, when the order was canceled; the page cannot tell which, so it says neither).
 */
export function closedCheckoutPage(session: CheckoutSessionRecord, successUrl: string): string {
  const body =
    session.status === 'expired'
      ? markup`<section class="panel">
          <h1>This checkout is closed</h1>
          <p role="alert">No payment can be made here any more. Nothing was charged.</p>
          ${session.cancelUrl ? markup`<p><a href="${session.cancelUrl}">Back to ${session.displayName}</a></p>` : ''}
        </section>`
      : markup`<section class="panel">
          <h1>This checkout is complete</h1>
          <p role="status">
            ${session.paymentStatus === 'paid' ? 'Your payment was received.' : 'Your payment is being processed.'}
          </p>
          <p><a href="${successUrl}">Continue</a></p>
        </section>`;
  return page(
    `${session.displayName}: checkout ${session.status === 'expired' ? 'closed' : 'complete'}`,
    body,
  );
}

/** An address that is no checkout session (mistyped, or from before the sandbox restarted). */
export function notFoundPage(shop: { name: string; url: string }): string {
  return page(
    'Checkout not found',
    markup`<section class="panel">
      <h1>Checkout not found</h1>
      <p role="alert">There is no checkout at this address. The link may be incomplete, or it may be from before the sandbox restarted (its sessions live in memory).</p>
      <p><a href="${shop.url}">Back to ${shop.name}</a></p>
    </section>`,
  );
}
