import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { type Browser, type BrowserContext, chromium, type Locator, type Page } from 'playwright-core';
import { AppConfig } from '../../src/config';
import { createTestApp, type TestApp } from '../support/app';
import { findChromium, NO_CHROMIUM } from '../support/chromium';
import { countRows, truncateAll } from '../support/db';
import { placeOrder, type PlacedOrderBody } from '../support/factories';
import { orderRow } from '../support/payments';
import { advanceSandboxClock, TEST_BANK_ACCOUNTS, TEST_CARDS } from '../support/sandbox';
import { waitFor } from '../support/wait';

/**
 * A customer in a real browser (Debian's Chromium, driven by playwright-core) buying from the
 * storefront, paying on the sandbox's hosted checkout page, and watching the order's status change
 * live, with no reload. Nothing is stood in for: the service, its Stripe adapter, the sandbox and
 * its webhooks all run for real. Screenshots of each final page go to test/artifacts/ (CI keeps them).
 */
const ARTIFACTS = join(__dirname, '..', 'artifacts');
const SETTLEMENT_SECONDS = 5;

describe('Storefront in a browser', () => {
  let t: TestApp;
  let sandbox: string;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let problems: string[];

  beforeAll(async () => {
    const chromiumPath = findChromium();
    if (!chromiumPath) throw new Error(NO_CHROMIUM);
    mkdirSync(ARTIFACTS, { recursive: true });
    t = await createTestApp({
      listen: true,
      env: { SANDBOX_SETTLEMENT_SECONDS: String(SETTLEMENT_SECONDS) },
    });
    sandbox = `http://127.0.0.1:${t.app.get(AppConfig).sandbox.port}`;
    browser = await chromium.launch({
      executablePath: chromiumPath,
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
  });
  afterAll(async () => {
    await browser?.close();
    await t?.close();
  });
  beforeEach(async () => {
    await truncateAll(t.orm);
    context = await browser.newContext({ baseURL: t.app.get(AppConfig).publicUrl, locale: 'en-US' });
    page = await context.newPage();
    problems = [];
    page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
    // Errors of the storefront's own pages (the sandbox's page answers a decline with 402, as a
    // form redisplayed with an error; that is Stripe's page, not ours).
    const shop = t.app.get(AppConfig).publicUrl;
    page.on('console', (message) => {
      const where = message.location().url;
      if (message.type() === 'error' && where.startsWith(shop))
        problems.push(`console: ${message.text()} ${where}`);
    });
  });
  afterEach(async () => {
    await context.close();
  });

  const status = () => page.getByTestId('order-status');
  const screenshot = (name: string) =>
    page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });
  const placedOrderId = async () =>
    (await t.em().getConnection().execute<{ id: string }[]>('select id from orders'))[0].id;

  /** From the shop's home page to Stripe's: a bag of beans, an email, Pay. */
  async function buyBeans(): Promise<void> {
    await page.goto('/');
    await page.getByTestId('add-to-cart-BEANS-250').click();
    await page.getByTestId('email').fill('buyer@example.com');
    await page.getByTestId('pay').click();
    await page.waitForURL(`${sandbox}/c/pay/cs_test_*`);
  }

  async function payWithCard(number: string): Promise<void> {
    await page.getByLabel('Card number').fill(number);
    await page.getByLabel('Expiration (MM / YY)').fill('12 / 34');
    await page.getByLabel('CVC').fill('123');
    await page.getByLabel('Name on card or account').fill('Jenny Rosen');
    await page.getByRole('button', { name: /^Pay/ }).click();
  }

  async function payByBank(accountNumber: string): Promise<void> {
    await page.getByLabel('US bank account').check();
    await page.getByLabel('Account number').fill(accountNumber);
    await page.getByLabel('Name on card or account').fill('Jenny Rosen');
    await page.getByRole('button', { name: /^Pay/ }).click();
  }

  it('buys with 4242 and sees "paid" without a reload', async () => {
    await buyBeans();
    await expectText(page.locator('body'), '$14.50');
    await payWithCard(TEST_CARDS.success);

    await page.waitForURL('**/checkout/success?orderId=*&session_id=cs_test_*');
    await expectText(status(), 'paid');
    expect(await status().getAttribute('data-status')).toBe('paid');
    expect(await orderRow(t, await placedOrderId())).toMatchObject({ status: 'paid' });
    await screenshot('paid-with-4242');
    expect(problems).toEqual([]);
  });

  it('a decline with 0002 shows the error; 4242 on the same page then pays', async () => {
    await buyBeans();
    await payWithCard(TEST_CARDS.genericDecline);
    await expectText(page.getByRole('alert'), 'Your card was declined.');
    await screenshot('declined-0002');
    // Meanwhile the order shows the decline to anyone watching it.
    await waitFor(
      async () => (await orderRow(t, await placedOrderId())).status === 'failed',
      'the order to fail',
    );

    await payWithCard(TEST_CARDS.success);
    await page.waitForURL('**/checkout/success?*');
    await expectText(status(), 'paid');
    await screenshot('paid-after-decline');
    expect(problems).toEqual([]);
  });

  it('a delayed bank payment goes from processing to paid, live', async () => {
    await buyBeans();
    await payByBank(TEST_BANK_ACCOUNTS.settles);
    await page.waitForURL('**/checkout/success?*');
    await expectText(status(), 'processing');

    await advanceSandboxClock(sandbox, SETTLEMENT_SECONDS); // the bank settles
    await expectText(status(), 'paid');
    await screenshot('bank-payment-settled');
    expect(problems).toEqual([]);
  });

  it('a failed bank payment shows the reason and a way to try again, which then pays', async () => {
    await buyBeans();
    await payByBank(TEST_BANK_ACCOUNTS.accountClosed);
    await page.waitForURL('**/checkout/success?*');
    await expectText(status(), 'processing');

    await advanceSandboxClock(sandbox, SETTLEMENT_SECONDS);
    await expectText(status(), 'failed');
    const reason = (await orderRow(t, await placedOrderId())).status_reason!;
    await expectText(status(), reason);
    await screenshot('bank-payment-failed');

    await page.getByTestId('retry').click();
    await page.waitForURL(`${sandbox}/c/pay/cs_test_*`);
    await payWithCard(TEST_CARDS.success);
    await page.waitForURL('**/checkout/success?*');
    await expectText(status(), 'paid');
    expect(problems).toEqual([]);
  });

  it('cancel on the checkout page leads back to the shop, where the order can be canceled', async () => {
    await buyBeans();
    await page.getByRole('link', { name: 'Cancel' }).click();
    await page.waitForURL('**/checkout/cancel?orderId=*');
    await expectText(status(), 'pending');

    await page.getByTestId('cancel-order').click();
    await expectText(status(), 'canceled');
    await page.getByTestId('cancel-order').waitFor({ state: 'hidden' });
    expect(await orderRow(t, await placedOrderId())).toMatchObject({ status: 'canceled' });
    await screenshot('canceled');
    expect(problems).toEqual([]);
  });

  it('keeps a cart in one currency and asks for an email before placing anything', async () => {
    await page.goto('/');
    await expectText(page.locator('[data-testid="product-card"][data-sku="BEANS-250"]'), '$14.50');
    await expectText(page.locator('[data-testid="product-card"][data-sku="MATCHA-30"]'), '¥2,400');

    await page.getByTestId('add-to-cart-BEANS-250').click();
    await page.getByTestId('add-to-cart-BEANS-250').click();
    await page.getByTestId('add-to-cart-MUG-CERAMIC').focus(); // keyboard works too
    await page.keyboard.press('Enter');
    await expectText(page.getByTestId('cart-total'), '3 items, total $47.00');

    await page.getByTestId('add-to-cart-MATCHA-30').click();
    await expectText(page.getByTestId('error'), 'one currency');
    expect(await page.getByTestId('cart-line').count()).toBe(2);

    await page.getByTestId('pay').click();
    await expectText(page.getByTestId('error'), 'valid email');
    expect(await countRows(t.orm, 'orders')).toBe(0);
    expect(problems).toEqual([]);
  });

  it('says so when the order is not this browser’s', async () => {
    const order: PlacedOrderBody = await placeOrder(t);
    await page.goto(`/checkout/success?orderId=${order.id}`);
    await expectText(page.getByTestId('error'), "can't find this order");
  });

  it('fits a 320 px wide screen', async () => {
    await page.setViewportSize({ width: 320, height: 640 });
    await page.goto('/');
    await page.getByTestId('add-to-cart-KETTLE-POUR').click();
    await expectText(page.getByTestId('cart-total'), '$49.00');
    const overflow = Number(await page.evaluate('document.documentElement.scrollWidth'));
    expect(overflow).toBeLessThanOrEqual(320);
  });
});

/** Waits (up to 10 s) until the locator's text contains `text`. */
async function expectText(locator: Locator, text: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  let seen = '';
  while (Date.now() < deadline) {
    seen = (await locator.first().textContent()) ?? '';
    if (seen.includes(text)) return;
    await locator.page().waitForTimeout(50);
  }
  throw new Error(`expected "${text}" in "${seen.trim()}"`);
}
