import type Stripe from 'stripe';
import {
  payByBank,
  payWithCard,
  startTestSandbox,
  TEST_BANK_ACCOUNTS,
  TEST_CARDS,
  type TestSandbox,
  advanceSandboxClock,
} from '../support/sandbox';

interface ReceiptEmail {
  id: string;
  to: string;
  subject: string;
  receiptNumber: string;
  amount: number;
  currency: string;
  chargeId: string;
  paymentIntentId: string;
  checkoutSessionId: string | null;
  paymentMethod: string;
  lines: { description: string; quantity: number; amount: number }[];
}

/**
 * `payment_intent_data.receipt_email` as Stripe models it (on the PaymentIntent, copied to its
 * charges, a receipt number once the charge succeeds), the receipts the sandbox would have sent
 * (GET /_sandbox/emails and the /mailbox page), and the checkout page's shop name (SANDBOX_SHOP_NAME).
 */
describe('Stripe sandbox: receipts and the shop name', () => {
  let sandbox: TestSandbox;
  beforeAll(async () => {
    sandbox = await startTestSandbox({ SANDBOX_SHOP_NAME: 'Kettle & Cup', SANDBOX_SETTLEMENT_SECONDS: '5' });
  });
  afterAll(() => sandbox.close());

  const emails = async () =>
    ((await (await fetch(`${sandbox.baseUrl}/_sandbox/emails`)).json()) as { emails: ReceiptEmail[] }).emails;

  function createSession(receiptEmail?: string): Promise<Stripe.Checkout.Session> {
    return sandbox.stripe.checkout.sessions.create({
      mode: 'payment',
      line_items: [{ price_data: { currency: 'usd', unit_amount: 1450, product_data: { name: 'Espresso beans, 250 g' } }, quantity: 2 }],
      success_url: 'http://localhost:3000/checkout/success?session_id={CHECKOUT_SESSION_ID}',
      cancel_url: 'http://localhost:3000/checkout/cancel',
      customer_email: 'buyer@example.com',
      payment_intent_data: { metadata: { orderId: 'o-1' }, ...(receiptEmail ? { receipt_email: receiptEmail } : {}) },
    }); // prettier-ignore
  }

  it('a card payment with receipt_email: on the PaymentIntent and charge, one receipt in the mailbox', async () => {
    const before = await emails();
    const session = await createSession('receipts@example.com');
    expect((await payWithCard(session.url!, { number: TEST_CARDS.success })).status).toBe(303);

    const { payment_intent } = await sandbox.stripe.checkout.sessions.retrieve(session.id);
    const intent = await sandbox.stripe.paymentIntents.retrieve(payment_intent as string);
    expect(intent.receipt_email).toBe('receipts@example.com');
    const charge = await sandbox.stripe.charges.retrieve(intent.latest_charge as string);
    expect(charge.receipt_email).toBe('receipts@example.com');
    expect(charge.receipt_number).toMatch(/^\d{4}-\d{4}$/);

    const sent = (await emails()).filter((email) => !before.some((b) => b.id === email.id));
    expect(sent).toEqual([
      expect.objectContaining({
        to: 'receipts@example.com',
        subject: `Your receipt from Kettle & Cup #${charge.receipt_number}`,
        amount: 2900,
        currency: 'usd',
        chargeId: charge.id,
        paymentIntentId: intent.id,
        checkoutSessionId: session.id,
        paymentMethod: 'Visa •••• 4242',
        lines: [{ description: 'Espresso beans, 250 g', quantity: 2, amount: 2900 }],
      }),
    ]);
    const mailbox = await (await fetch(`${sandbox.baseUrl}/mailbox`)).text();
    expect(mailbox).toContain(`Your receipt from Kettle &amp; Cup #${charge.receipt_number}`);
    expect(mailbox).toContain('receipts@example.com');
  });

  it('no receipt for a decline, none without receipt_email, and a bank debit only once it settles', async () => {
    const before = (await emails()).length;
    const declined = await createSession('declined@example.com');
    await payWithCard(declined.url!, { number: TEST_CARDS.genericDecline });
    const silent = await createSession();
    await payWithCard(silent.url!, { number: TEST_CARDS.success });
    const intent = await sandbox.stripe.paymentIntents.retrieve(
      (await sandbox.stripe.checkout.sessions.retrieve(silent.id)).payment_intent as string,
    );
    expect(intent.receipt_email).toBeNull();
    expect(await emails()).toHaveLength(before);

    const bank = await createSession('bank@example.com');
    await payByBank(bank.url!, TEST_BANK_ACCOUNTS.settles);
    expect(await emails()).toHaveLength(before);
    await advanceSandboxClock(sandbox.baseUrl, 5);
    const [latest] = await emails();
    expect(latest).toMatchObject({ to: 'bank@example.com', paymentMethod: 'STRIPE TEST BANK •••• 6789' });
  });

  it('refuses a malformed receipt_email, naming the parameter, and keeps nothing', async () => {
    const sessionsBefore = (await sandbox.stripe.checkout.sessions.list({ limit: 100 })).data.length;
    await expect(createSession('not-an-email')).rejects.toMatchObject({
      type: 'StripeInvalidRequestError',
      param: 'payment_intent_data[receipt_email]',
    });
    expect((await sandbox.stripe.checkout.sessions.list({ limit: 100 })).data).toHaveLength(sessionsBefore);
  });

  it("shows SANDBOX_SHOP_NAME on the checkout page and as the session's branding display_name", async () => {
    const session = await createSession();
    const html = await (await fetch(session.url!)).text();
    expect(html).toContain('<h1 id="summary-heading">Pay Kettle &amp; Cup</h1>');
    expect(html).toContain('<title>Pay Kettle &amp; Cup</title>');
    expect(session.branding_settings?.display_name).toBe('Kettle & Cup');
  });

  it('an unknown session is an HTML page with a way back to the shop', async () => {
    const response = await fetch(`${sandbox.baseUrl}/c/pay/cs_test_nope`);
    expect(response.status).toBe(404);
    expect(response.headers.get('content-type')).toMatch(/^text\/html/);
    const html = await response.text();
    expect(html).toContain('<h1>Checkout not found</h1>');
    expect(html).toMatch(/<a href="http:\/\/localhost:\d+\/">Back to Kettle &amp; Cup<\/a>/);
  });
});
