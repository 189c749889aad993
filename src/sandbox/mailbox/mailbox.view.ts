import { markup, page } from '../html';
import { formatAmount } from '../stripe/currencies';
import type { ReceiptEmail } from './receipts';

/** The mailbox page: every receipt the sandbox would have e-mailed, newest first. */
export function mailboxPage(receipts: ReceiptEmail[]): string {
  const body = markup`<p><a href="/">Events</a></p>
    <h1>Mailbox <span class="badge">Test mode</span></h1>
    <p class="muted">
      The receipts Stripe would have e-mailed (to each payment's <code>receipt_email</code>). Nothing
      leaves this sandbox. As JSON: <a href="/_sandbox/emails"><code>GET /_sandbox/emails</code></a>.
    </p>
    ${
      receipts.length
        ? receipts.map(
            (
              receipt,
            ) => markup`<article class="panel receipt" aria-labelledby="${receipt.id}" data-testid="receipt">
              <h2 id="${receipt.id}">${receipt.subject}</h2>
              <p class="muted">
                To <span data-testid="receipt-to">${receipt.to}</span> · from ${receipt.from} ·
                ${new Date(receipt.sentAt * 1000).toISOString().replace('T', ' ').slice(0, 16)} UTC
              </p>
              <table>
                <caption class="muted" style="text-align:left">Summary</caption>
                <thead>
                  <tr>
                    <th scope="col">Item</th>
                    <th scope="col" class="num">Qty</th>
                    <th scope="col" class="num">Amount</th>
                  </tr>
                </thead>
                <tbody>
                  ${receipt.lines.map(
                    (line) => markup`<tr>
                      <td>${line.description}</td>
                      <td class="num">${line.quantity}</td>
                      <td class="num">${formatAmount(line.amount, receipt.currency)}</td>
                    </tr>`,
                  )}
                </tbody>
                <tfoot>
                  <tr>
                    <th scope="row" colspan="2">Amount paid</th>
                    <td class="num"><strong data-testid="receipt-amount">${formatAmount(receipt.amount, receipt.currency)}</strong></td>
                  </tr>
                </tfoot>
              </table>
              <p>Payment method: ${receipt.paymentMethod}</p>
            </article>`,
          )
        : markup`<p class="panel" data-testid="mailbox-empty">No receipts yet: a successful payment with a receipt e-mail sends one.</p>`
    }`;
  return page('Mailbox: Stripe sandbox', body);
}
