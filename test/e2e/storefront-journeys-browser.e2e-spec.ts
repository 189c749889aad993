import type { Browser, BrowserContext, Locator, Page } from 'playwright-core';
import request from 'supertest';
import { AppConfig } from '../../src/config';
import { createTestApp, type TestApp } from '../support/app';
import { launchChromium, screenshotBothWidths, seriousA11yViolations } from '../support/browser';
import { truncateAll } from '../support/db';
import { placeOrder, type PlacedOrderBody } from '../support/factories';
import { orderRow, startCheckout } from '../support/payments';
import {
  advanceSandboxClock,
  payByBank,
  payWithCard,
  TEST_BANK_ACCOUNTS,
  TEST_CARDS,
} from '../support/sandbox';
import { waitFor } from '../support/wait';

/**
 * What a new customer meets in a real browser (Chromium through playwright-core), against the real
 * service, its sandbox Stripe and PostgreSQL: leaving Checkout and paying again keeps one order;
 * each page says one thing, matching the order's state; a phone shows what "Add to cart" did; the
 * sandbox's checkout page names the shop and shows the chosen method's fields; the receipt is in the
 * sandbox's mailbox; unknown addresses are pages with a way back; and axe-core finds no serious or
 * critical violation on any page. Screenshots of every page at 1280 and 375 px: test/artifacts/.
 */
describe('Storefront journeys in a browser', () => {
  let t: TestApp;
  let shop: string;
  let sandbox: string;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let problems: string[];

  beforeAll(async () => {
    browser = await launchChromium();
    // Settlement far off: moving the clock to expire a session must not settle a bank payment.
    t = await createTestApp({ listen: true, env: { SANDBOX_SETTLEMENT_SECONDS: '86400' } });
    shop = t.app.get(AppConfig).publicUrl;
    sandbox = `http://127.0.0.1:${t.app.get(AppConfig).sandbox.port}`;
  });
  afterAll(async () => {
    await browser?.close();
    await t?.close();
  });
  beforeEach(async () => {
    await truncateAll(t.orm);
    context = await browser.newContext({
      baseURL: shop,
      locale: 'en-US',
      viewport: { width: 1280, height: 800 },
    });
    page = await context.newPage();
    problems = [];
    page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  });
  afterEach(() => context.close());

  const orders = () =>
    t
      .em()
      .getConnection()
      .execute<{ id: string; status: string }[]>('select id, status from orders order by created_at');
  const status = () => page.getByTestId('order-status');

  /** Lets this browser open `order` (as the browser that placed it would). */
  async function holdToken(order: PlacedOrderBody): Promise<void> {
    await context.addInitScript(
      ([id, token]) => {
        const key = 'payflow.orders';
        const store = (
          globalThis as unknown as {
            localStorage: { getItem(k: string): string | null; setItem(k: string, v: string): void };
          }
        ).localStorage;
        store.setItem(key, JSON.stringify({ ...JSON.parse(store.getItem(key) ?? '{}'), [id]: token }));
      },
      [order.id, order.accessToken],
    );
  }

  async function expectNoSeriousViolations(name: string): Promise<void> {
    expect([name, await seriousA11yViolations(page)]).toEqual([name, []]);
  }

  async function fillCard(number: string): Promise<void> {
    await page.getByLabel('Card number').fill(number);
    await page.getByLabel('Expiration (MM / YY)').fill('12 / 34');
    await page.getByLabel('CVC').fill('123');
    await page.getByLabel('Name on card or account').fill('Jenny Rosen');
    await page.getByRole('button', { name: /^Pay/ }).click();
  }

  it('cancel on Checkout, back to the shop, Pay: the same order, the email kept; a changed cart replaces it', async () => {
    await page.goto('/');
    await page.getByTestId('add-to-cart-BEANS-250').click();
    await page.getByTestId('email').fill('buyer@example.com');
    await page.getByTestId('pay').click();
    await page.waitForURL(`${sandbox}/c/pay/cs_test_*`);
    const firstSession = page.url();
    await page.getByRole('link', { name: 'Cancel' }).click();
    await page.waitForURL('**/checkout/cancel?orderId=*');
    await expectText(status(), 'pending');
    await page.getByRole('link', { name: 'Back to the shop' }).click();
    await page.waitForURL(`${shop}/`);
    expect(await page.getByTestId('email').inputValue()).toBe('buyer@example.com');

    await page.getByTestId('pay').click(); // the cart is unchanged: the same order, the same session
    await page.waitForURL(`${sandbox}/c/pay/cs_test_*`);
    expect(page.url()).toBe(firstSession);
    const [first] = await orders();
    expect(await orders()).toEqual([{ id: first.id, status: 'pending' }]);

    await page.goBack();
    await page.waitForURL(`${shop}/`);
    await page.getByTestId('add-to-cart-MUG-CERAMIC').click(); // the cart changes: the order is replaced
    await page.getByTestId('pay').click();
    await page.waitForURL(`${sandbox}/c/pay/cs_test_*`);
    expect(page.url()).not.toBe(firstSession);
    const after = await orders();
    expect(after).toHaveLength(2);
    expect(after[0]).toEqual({ id: first.id, status: 'canceled' });
    expect(after[1].status).toBe('pending');
    const replaced = await fetch(firstSession);
    expect(await replaced.text()).toContain('This checkout is closed'); // its session was expired
    await expectText(page.locator('body'), '$32.50'); // beans and a mug

    await fillCard(TEST_CARDS.success);
    await page.waitForURL('**/checkout/success?*');
    await expectText(status(), 'paid');
    expect((await orders()).map((o) => o.status)).toEqual(['canceled', 'paid']);
    expect(problems).toEqual([]);
  });

  type State = 'pending' | 'processing' | 'paid' | 'failed' | 'canceled' | 'expired';
  /** An order brought to `state` for real: through the sandbox's checkout page, clock and webhooks. */
  async function orderIn(state: State): Promise<PlacedOrderBody> {
    const order = await placeOrder(t, [{ sku: 'BEANS-250', quantity: 1 }]);
    if (state === 'canceled') {
      await request(t.http())
        .post(`/api/orders/${order.id}/cancel`)
        .set('Authorization', `Bearer ${order.accessToken}`)
        .expect(200);
      return order;
    }
    const session = await startCheckout(t, order);
    if (state === 'paid') await payWithCard(session.url, { number: TEST_CARDS.success });
    if (state === 'failed') await payWithCard(session.url, { number: TEST_CARDS.genericDecline });
    if (state === 'processing') await payByBank(session.url, TEST_BANK_ACCOUNTS.settles);
    if (state === 'expired') await advanceSandboxClock(sandbox, 36 * 60);
    const expected = state === 'expired' ? 'failed' : state;
    await waitFor(
      async () => (await orderRow(t, order.id)).status === expected,
      `the order to be ${expected}`,
    );
    return order;
  }

  const TITLES: Record<'success' | 'cancel', Record<State, string>> = {
    success: {
      pending: 'Your order',
      processing: 'Payment on its way',
      paid: 'Thank you!',
      failed: 'Payment failed',
      canceled: 'Order canceled',
      expired: 'Time to pay ran out',
    },
    cancel: {
      pending: 'You left the payment page',
      processing: 'Payment on its way',
      paid: 'Thank you!',
      failed: 'Payment failed',
      canceled: 'Order canceled',
      expired: 'Time to pay ran out',
    },
  };
  const MESSAGES: Record<State, RegExp> = {
    pending:
      /^pending (Waiting for your payment to be confirmed…|Nothing was charged\. Your order is kept: pay it now, or cancel it\.)$/,
    processing: /^processing Your bank payment is on its way\. This page updates when it arrives\.$/,
    paid: /^paid Payment received\. Thank you for your order!$/,
    failed:
      /^failed Your card was declined\. Nothing was charged: (try again|pay now, or cancel the order)\.$/,
    canceled: /^canceled This order was canceled\. Nothing was charged\.$/,
    expired:
      /^expired The checkout closed before a payment was made\. Nothing was charged: (pay now to try again|pay now, or cancel the order)\.$/,
  };

  it.each(['pending', 'processing', 'paid', 'failed', 'canceled', 'expired'] as State[])(
    'a %s order: one heading and one message on the success and cancel pages',
    async (state) => {
      const order = await orderIn(state);
      await holdToken(order);
      for (const which of ['success', 'cancel'] as const) {
        await page.goto(`/checkout/${which}?orderId=${order.id}`);
        await expectText(status(), `${state} `);
        expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe(TITLES[which][state]);
        expect((await status().textContent())!.trim()).toMatch(MESSAGES[state]);
        expect(await status().getAttribute('data-state')).toBe(state);
        expect(await page.getByTestId('error').textContent()).toBe('');
        if (which === 'success') expect(await page.locator('#connection').textContent()).toBe('');
        const payable = state === 'pending' || state === 'failed' || state === 'expired';
        expect(await page.getByTestId('retry').isVisible()).toBe(
          which === 'cancel' ? payable : payable && state !== 'pending',
        );
        await expectNoSeriousViolations(`${which} page, ${state}`);
        await screenshotBothWidths(page, `${which}-${state}`);
      }
      expect(problems).toEqual([]);
    },
  );

  it('"Cancel order" on the cancel page: the heading and message become the canceled ones', async () => {
    const order = await orderIn('pending');
    await holdToken(order);
    await page.goto(`/checkout/cancel?orderId=${order.id}`);
    await expectText(status(), 'pending');
    await page.getByTestId('cancel-order').click();
    await expectText(status(), 'canceled');
    expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe('Order canceled');
    expect(await page.locator('body').textContent()).not.toContain('Your order is kept');
    expect(await orderRow(t, order.id)).toMatchObject({ status: 'canceled' });
  });

  it('an order this browser cannot open: "Order not found" alone, nothing waiting or reconnecting', async () => {
    const order = await placeOrder(t);
    await holdToken({ ...order, accessToken: 'not-the-token' });
    for (const which of ['success', 'cancel']) {
      await page.goto(`/checkout/${which}?orderId=${order.id}&session_id=cs_test_x`);
      await expectText(page.getByTestId('error'), "We can't find this order.");
      expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe('Order not found');
      expect(await status().isVisible()).toBe(false);
      const visible = await page.locator('main').innerText();
      expect(visible).not.toMatch(/Confirming|reconnecting|Waiting|Loading/);
      await expectNoSeriousViolations(`${which} page, not found`);
      await screenshotBothWidths(page, `${which}-not-found`);
    }
    expect(problems).toEqual([]);
  });

  it('at 375 px, "Add to cart" shows a badge and a note where the shopper taps, the currency refusal too', async () => {
    await page.setViewportSize({ width: 375, height: 667 });
    await page.goto('/');
    const inView = async (locator: Locator) => {
      const box = await locator.boundingBox();
      return (
        box !== null && box.y >= 0 && box.y + box.height <= 667 && box.x >= 0 && box.x + box.width <= 375
      );
    };
    const first = page.getByTestId('product-card').first(); // at the top: the cart is far below
    const firstSku = await first.getAttribute('data-sku');
    await first.getByRole('button', { name: 'Add to cart' }).click();
    await expectText(page.getByTestId('cart-count'), '1');
    expect(await inView(page.getByTestId('cart-badge'))).toBe(true);
    await expectText(page.getByTestId('toast'), 'Added');
    expect(await inView(page.getByTestId('toast'))).toBe(true);
    expect((await page.getByTestId('cart').boundingBox())!.y).toBeGreaterThan(667); // out of sight
    await screenshotBothWidths(page, 'shop-added-to-cart');

    const otherCurrency = firstSku === 'MATCHA-30' ? 'BEANS-250' : 'MATCHA-30';
    await page.getByTestId(`add-to-cart-${otherCurrency}`).click();
    await expectText(page.getByTestId('toast'), 'one currency');
    expect(await inView(page.getByTestId('toast'))).toBe(true);
    await expectText(page.getByTestId('cart-count'), '1');
    await page.getByTestId('cart-badge').click(); // the badge leads to the cart
    await waitFor(async () => inView(page.getByTestId('cart-total')), 'the cart to scroll into view');
    await expectNoSeriousViolations('shop at 375 px');
    expect(problems).toEqual([]);
  });

  it("the sandbox's checkout page: the shop's name, only the chosen method's fields; an unknown session, a page back", async () => {
    const session = await startCheckout(t, await placeOrder(t));
    await page.goto(session.url);
    expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe('Pay Payflow Coffee');
    expect(await page.title()).toBe('Pay Payflow Coffee');
    expect(await page.locator('body').textContent()).not.toContain('Order Flow sandbox');
    expect(await page.getByLabel('Card number').isVisible()).toBe(true);
    expect(await page.getByLabel('Account number').isVisible()).toBe(false);
    await expectNoSeriousViolations('checkout page, card');
    await screenshotBothWidths(page, 'checkout-card');

    await page.getByLabel('US bank account').check();
    expect(await page.getByLabel('Account number').isVisible()).toBe(true);
    expect(await page.getByLabel('Card number').isVisible()).toBe(false);
    expect(await page.getByLabel('CVC').isVisible()).toBe(false);
    expect(await page.getByLabel('Name on card or account').isVisible()).toBe(true);
    await expectNoSeriousViolations('checkout page, bank');
    await screenshotBothWidths(page, 'checkout-bank');

    const unknown = await page.goto(`${sandbox}/c/pay/cs_test_nope`);
    expect(unknown?.status()).toBe(404);
    expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe('Checkout not found');
    await expectNoSeriousViolations('checkout page, unknown session');
    await screenshotBothWidths(page, 'checkout-not-found');
    await page.getByRole('link', { name: 'Back to Payflow Coffee' }).click();
    await page.waitForURL(`${shop}/`);
  });

  it('pays with 4242: the success page links to the receipt in the sandbox mailbox, also GET /_sandbox/emails', async () => {
    await page.goto('/');
    await page.getByTestId('add-to-cart-BEANS-250').click();
    await page.getByTestId('email').fill('receipt.reader@example.com');
    await expectNoSeriousViolations('shop');
    await screenshotBothWidths(page, 'shop');
    await page.getByTestId('pay').click();
    await page.waitForURL(`${sandbox}/c/pay/cs_test_*`);
    await fillCard(TEST_CARDS.success);
    await page.waitForURL('**/checkout/success?*');
    await expectText(status(), 'paid');
    await expectNoSeriousViolations('success page, paid');
    await screenshotBothWidths(page, 'success-paid-with-receipt-link');

    const [order] = await orders();
    const { emails } = (await (await fetch(`${sandbox}/_sandbox/emails`)).json()) as {
      emails: { to: string; subject: string; amount: number; currency: string; paymentMethod: string }[];
    };
    expect(emails.filter((email) => email.to === 'receipt.reader@example.com')).toEqual([
      expect.objectContaining({
        to: 'receipt.reader@example.com',
        subject: expect.stringMatching(/^Your receipt from Payflow Coffee #\d{4}-\d{4}$/),
        amount: 1450,
        currency: 'usd',
        paymentMethod: 'Visa •••• 4242',
      }),
    ]);
    expect(order.status).toBe('paid');

    await page.getByTestId('receipt-link').click();
    await page.waitForURL(`${sandbox}/mailbox`);
    await expectText(page.getByTestId('receipt-to'), 'receipt.reader@example.com');
    await expectText(page.getByTestId('receipt-amount'), '$14.50');
    await expectNoSeriousViolations('sandbox mailbox');
    await screenshotBothWidths(page, 'sandbox-mailbox');
    expect(problems).toEqual([]);
  });

  it('an unknown address is an HTML page with a way back to the shop', async () => {
    const response = await page.goto('/no-such-page');
    expect(response?.status()).toBe(404);
    expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe('Page not found');
    await expectNoSeriousViolations('404 page');
    await screenshotBothWidths(page, 'not-found');
    await page.getByRole('link', { name: 'Back to the shop' }).click();
    await page.waitForURL(`${shop}/`);
    await page.getByTestId('add-to-cart-BEANS-250').waitFor();
    expect(problems).toEqual([]);
  });
});

/** Waits (up to 10 s) until the locator's text contains `text`. */
async function expectText(locator: Locator, text: string): Promise<void> {
  let seen = '';
  await waitFor(async () => {
    seen = (await locator.first().textContent()) ?? '';
    return seen.includes(text);
  }, `"${text}" in the page`).catch(() => {
    throw new Error(`expected "${text}" in "${seen.trim()}"`);
  });
}
