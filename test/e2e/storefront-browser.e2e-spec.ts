import { existsSync } from 'node:fs';
import { type Browser, type BrowserContext, chromium, type Page, type Route } from 'playwright-core';
import { Order } from '../../src/orders/order.entity';
import { createTestApp, type TestApp } from '../support/app';
import { countRows, truncateAll } from '../support/db';
import { placeOrder, type PlacedOrderBody } from '../support/factories';

/**
 * The storefront in a real browser (Debian's Chromium, driven by playwright-core), against the real
 * service. The checkout endpoints are stood in for where a test needs Stripe's answer: the page is
 * tested against the contract (`{sessionId, url, expiresAt}`), not against Stripe.
 */
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const describeInBrowser = existsSync(CHROMIUM) ? describe : describe.skip;
if (!existsSync(CHROMIUM)) console.warn(`Storefront browser tests skipped: no Chromium at ${CHROMIUM}`);

const BY_WEBHOOK = { kind: 'webhook', ref: 'evt_browser' } as const;

describeInBrowser('Storefront in a browser', () => {
  let t: TestApp;
  let base: string;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let problems: string[];

  beforeAll(async () => {
    t = await createTestApp({ listen: true });
    base = (await t.app.getUrl()).replace('[::1]', '127.0.0.1');
    browser = await chromium.launch({
      executablePath: CHROMIUM,
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
    context = await browser.newContext({ baseURL: base, locale: 'en-US' });
    page = await context.newPage();
    problems = [];
    page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
    page.on('console', (message) => {
      if (message.type() === 'error') problems.push(`console: ${message.text()}`);
    });
  });
  afterEach(async () => {
    await context.close();
  });

  const status = () => page.getByTestId('order-status');
  /** A transition as payments will make it: through the aggregate, in a transaction of its own. */
  const change = (order: PlacedOrderBody, apply: (order: Order) => void) =>
    t.orm.em.fork().transactional(async (em) => apply(await em.findOneOrFail(Order, order.id)));
  /** Opens `path` in a browser that placed `order` (its token in localStorage). */
  const openAsBuyer = async (order: PlacedOrderBody, path: string) => {
    const tokens = JSON.stringify({ [order.id]: order.accessToken });
    await context.addInitScript({
      content: `localStorage.setItem('payflow.orders', ${JSON.stringify(tokens)});`,
    });
    await page.goto(path);
  };

  it('builds a cart in one currency and pays: order, then checkout, then the session url', async () => {
    const checkouts: { authorization?: string; orderId: string }[] = [];
    let answer: 'unavailable' | 'session' = 'unavailable';
    await page.route('**/api/orders/*/checkout', async (route: Route) => {
      const orderId = new URL(route.request().url()).pathname.split('/')[3];
      checkouts.push({ authorization: route.request().headers().authorization, orderId });
      if (answer === 'unavailable') {
        return route.fulfill({
          status: 502,
          json: { statusCode: 502, code: 'PAYMENTS.GATEWAY_UNAVAILABLE', message: 'Stripe did not answer' },
        });
      }
      return route.fulfill({
        status: 201,
        json: {
          sessionId: 'cs_test_browser',
          url: `${base}/checkout/cancel?orderId=${orderId}`,
          expiresAt: 0,
        },
      });
    });

    await page.goto('/');
    const beans = page.locator('[data-testid="product-card"][data-sku="BEANS-250"]');
    await expectText(beans, '$14.50');
    await expectText(page.locator('[data-testid="product-card"][data-sku="MATCHA-30"]'), '¥2,400');

    await page.getByTestId('add-to-cart-BEANS-250').click();
    await page.getByTestId('add-to-cart-BEANS-250').click();
    // Keyboard: a product's button takes Enter.
    await page.getByTestId('add-to-cart-MUG-CERAMIC').focus();
    await page.keyboard.press('Enter');
    await expectText(page.getByTestId('cart-total'), '3 items, total $47.00');

    // Another currency is refused, and the cart stays as it was.
    await page.getByTestId('add-to-cart-MATCHA-30').click();
    await expectText(page.getByTestId('error'), 'one currency');
    expect(await page.getByTestId('cart-line').count()).toBe(2);

    // Pay without an email: told so, nothing placed.
    await page.getByTestId('pay').click();
    await expectText(page.getByTestId('error'), 'valid email');
    expect(await countRows(t.orm, 'orders')).toBe(0);

    // Stripe unreachable: the order is placed, the error is readable, Try again is offered.
    await page.getByTestId('email').fill('buyer@example.com');
    await page.getByTestId('pay').click();
    await expectText(page.getByTestId('error'), "payment provider can't be reached");
    await page.getByTestId('retry').waitFor({ state: 'visible' });
    expect(await countRows(t.orm, 'orders')).toBe(1);

    // Try again pays the same order (no second one) and goes to the session's url.
    answer = 'session';
    await page.getByTestId('retry').click();
    await page.waitForURL('**/checkout/cancel?orderId=*');
    // The cancel page opens the order with the token the shop kept for it.
    await expectText(status(), 'pending');
    expect(await countRows(t.orm, 'orders')).toBe(1);
    expect(checkouts).toHaveLength(2);
    expect(checkouts[0].orderId).toBe(checkouts[1].orderId);
    expect(checkouts[0].authorization).toMatch(/^Bearer [\w-]{43}$/);
    const [row] = await t.em().getConnection().execute('select id, total_amount from orders');
    expect(row).toMatchObject({ id: checkouts[0].orderId, total_amount: 4700 });
    expect(problems.filter((p) => !p.includes('502'))).toEqual([]);
  });

  it('shows the live status on the success page: processing, failed with the reason, then paid', async () => {
    const order = await placeOrder(t);
    await openAsBuyer(order, `/checkout/success?orderId=${order.id}`);
    await expectText(status(), 'pending');
    await expectText(page.locator('#summary'), '$47.00');

    await change(order, (o) => o.markProcessing('Bank transfer on its way', BY_WEBHOOK));
    await expectText(status(), 'processing');
    await expectText(status(), 'your bank transfer is on its way');

    await change(order, (o) => o.markFailed('Your card was declined.', BY_WEBHOOK));
    await expectText(status(), 'failed');
    await expectText(status(), 'Your card was declined.');
    await page.getByTestId('retry').waitFor({ state: 'visible' });

    await change(order, (o) => o.markPaid('Payment confirmed', BY_WEBHOOK));
    await expectText(status(), 'paid');
    await page.getByTestId('retry').waitFor({ state: 'hidden' });
    expect(await page.locator('h1').textContent()).toBe('Thank you!');
    expect(await status().getAttribute('role')).toBe('status');
    expect(problems).toEqual([]);
  });

  it('confirms the session with the service on return from Stripe', async () => {
    const order = await placeOrder(t);
    const confirmations: { body: unknown; authorization?: string }[] = [];
    await page.route('**/api/orders/*/checkout/confirm', async (route) => {
      confirmations.push({
        body: route.request().postDataJSON(),
        authorization: route.request().headers().authorization,
      });
      await change(order, (o) => o.markPaid('Paid (redirect check)', { kind: 'redirect', ref: 'cs_test_1' }));
      return route.fulfill({ status: 200, json: { id: order.id, status: 'paid', reason: null } });
    });

    await openAsBuyer(order, `/checkout/success?orderId=${order.id}&session_id=cs_test_1`);

    await expectText(status(), 'paid');
    expect(confirmations).toEqual([
      { body: { sessionId: 'cs_test_1' }, authorization: `Bearer ${order.accessToken}` },
    ]);
    expect(problems).toEqual([]);
  });

  it('lets the customer cancel from the cancel page, and says so', async () => {
    const order = await placeOrder(t);
    await openAsBuyer(order, `/checkout/cancel?orderId=${order.id}`);
    await expectText(status(), 'pending');
    await page.getByTestId('cancel-order').click();
    await expectText(status(), 'canceled');
    await page.getByTestId('cancel-order').waitFor({ state: 'hidden' });
    const [row] = await t.em().getConnection().execute('select status from orders where id = ?', [order.id]);
    expect(row.status).toBe('canceled');
    expect(problems).toEqual([]);
  });

  it('says so when the order is not this browser’s', async () => {
    const order = await placeOrder(t);
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
async function expectText(locator: ReturnType<Page['locator']>, text: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  let seen = '';
  while (Date.now() < deadline) {
    seen = (await locator.textContent()) ?? '';
    if (seen.includes(text)) return;
    await locator.page().waitForTimeout(50);
  }
  throw new Error(`expected "${text}" in "${seen.trim()}"`);
}
