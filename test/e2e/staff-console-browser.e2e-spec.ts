import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import { AppConfig } from '../../src/config';
import { createTestApp, type TestApp } from '../support/app';
import { truncateAll } from '../support/db';
import { placeOrder, type PlacedOrderBody } from '../support/factories';
import { ledgerRow, orderRow, startCheckout } from '../support/payments';
import { advanceSandboxClock, payWithCard, sandboxEvents, TEST_CARDS } from '../support/sandbox';
import { seriousA11yViolations } from '../support/browser';
import { addStaff, STAFF_PASSWORD } from '../support/staff';
import { waitFor } from '../support/wait';

/**
 * A staff member in a real browser (Debian's Chromium, driven by playwright-core) using the console
 * at /admin against the real service and the sandbox: logs in, finds a paid order, refunds part of
 * it and watches it become partially_refunded live, resolves a review item, replays a ledger event,
 * and reads it all on a phone. Screenshots go to test/artifacts/.
 */
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const ARTIFACTS = join(__dirname, '..', 'artifacts');
const SETTLEMENT_SECONDS = 5;
const DISPUTED = '4000 0000 0000 0259';

describe('Staff console in a browser', () => {
  let t: TestApp;
  let sandbox: string;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  const problems: string[] = [];
  let refundable: PlacedOrderBody;
  let disputed: PlacedOrderBody;

  async function paid(email: string, card: string): Promise<PlacedOrderBody> {
    const order = await placeOrder(t, undefined, email);
    const { url } = await startCheckout(t, order);
    expect((await payWithCard(url, { number: card })).status).toBe(303);
    await waitFor(async () => (await orderRow(t, order.id)).status === 'paid', `order ${order.id} paid`);
    return order;
  }

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) {
      throw new Error(`No Chromium at ${CHROMIUM}: apt-get install -y chromium (or set CHROMIUM_PATH)`);
    }
    mkdirSync(ARTIFACTS, { recursive: true });
    t = await createTestApp({
      listen: true,
      env: { SANDBOX_SETTLEMENT_SECONDS: String(SETTLEMENT_SECONDS) },
    });
    sandbox = `http://127.0.0.1:${t.app.get(AppConfig).sandbox.port}`;
    await truncateAll(t.orm);
    await addStaff(t, 'ops@shop.test', 'operator');
    refundable = await paid('refund-me@example.com', TEST_CARDS.success);
    disputed = await paid('chargeback@example.com', DISPUTED); // opens a dispute: a review item
    await waitFor(
      async () => (await t.em().getConnection().execute('select 1 from review_items')).length > 0,
      'the dispute review item',
    );
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-sync',
      ],
    });
    context = await browser.newContext({ baseURL: t.app.get(AppConfig).publicUrl, locale: 'en-US' });
    page = await context.newPage();
    const origin = t.app.get(AppConfig).publicUrl;
    page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
    page.on('console', (message) => {
      // The 401s of "who am I?" before logging in and of the wrong password are the login flow.
      const expected = message.text().includes('status of 401');
      if (message.type() === 'error' && message.location().url.startsWith(origin) && !expected) {
        problems.push(`console: ${message.text()}`);
      }
    });
  });
  afterAll(async () => {
    await browser?.close();
    await t?.close();
  });

  /** Keeps a screenshot of the page, and checks it with axe-core: no serious or critical violation. */
  const screenshot = async (name: string) => {
    await page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });
    expect([name, await seriousA11yViolations(page)]).toEqual([name, []]);
  };
  const attribute = (testId: string, name: string) => page.getByTestId(testId).first().getAttribute(name);

  it('logs in and shows the dashboard', async () => {
    await page.goto('/admin');
    await page.getByTestId('login-email').waitFor();
    expect(['login', await seriousA11yViolations(page)]).toEqual(['login', []]);
    await page.getByTestId('login-email').fill('ops@shop.test');
    await page.getByTestId('login-password').fill('not the password');
    await page.getByTestId('login-submit').click();
    await page.getByText('Wrong e-mail or password').waitFor();

    await page.getByTestId('login-password').fill(STAFF_PASSWORD);
    await page.getByTestId('login-submit').click();
    await page.getByTestId('stat-paid-today').waitFor();
    expect(await page.getByTestId('stat-paid-today').textContent()).toBe('$94.00 (2)');
    expect(await page.getByTestId('stat-open-reviews').textContent()).toBe('1');
    await waitFor(async () => (await attribute('live-status', 'data-state')) === 'live', 'the live socket');
    // The session cookie is out of the page's reach; the CSRF token is readable, by design.
    expect(await page.evaluate<string>('document.cookie')).not.toContain('payflow_staff=');
    await screenshot('staff-dashboard');
  });

  it('finds the paid order, refunds part of it, and sees it become partially_refunded live', async () => {
    await page.getByTestId('nav-orders').click();
    await page.getByTestId('filter-email').fill('refund-me');
    await page.getByTestId('filter-status').selectOption('paid');
    await page.getByTestId('filter-apply').click();
    await waitFor(async () => (await page.getByTestId('order-row').count()) === 1, 'one matching order');
    expect(await page.getByTestId('order-row').getAttribute('data-order-id')).toBe(refundable.id);
    await page.getByTestId('order-link').click();
    await page.getByTestId('order-detail').waitFor();
    expect(await attribute('order-detail', 'data-status')).toBe('paid');

    await page.getByTestId('refund-open').click();
    await page.getByTestId('refund-amount').fill('12.50');
    await page.getByTestId('refund-reason').fill('Mug arrived chipped');
    await page.getByTestId('refund-continue').click();
    expect(await page.getByTestId('refund-confirm-text').textContent()).toBe(
      'Refund $12.50 to refund-me@example.com? This cannot be undone.',
    );
    await screenshot('staff-refund-confirm');
    await page.getByTestId('refund-confirm').click();
    await waitFor(
      async () => (await attribute('refund', 'data-status')) === 'pending',
      'the refund, pending',
    );

    // Stripe settles the refund; its webhook changes the order; the console hears it and redraws.
    await advanceSandboxClock(sandbox, SETTLEMENT_SECONDS);
    await waitFor(
      async () => (await attribute('order-detail', 'data-status')) === 'partially_refunded',
      'the order page to show partially_refunded',
    );
    expect(await page.getByTestId('refunded-amount').textContent()).toBe('$12.50');
    expect(await orderRow(t, refundable.id)).toMatchObject({ status: 'partially_refunded' });
    await screenshot('staff-order-partially-refunded');
  });

  it('resolves a review item with a note', async () => {
    await page.getByTestId('nav-reviews').click();
    const item = page.getByTestId('review-row').first();
    await item.waitFor();
    expect(await item.getAttribute('data-kind')).toBe('dispute');
    await item.getByTestId('review-resolve').click();
    await page.getByText('A note is required.').waitFor();
    await item.getByTestId('review-note').fill('Evidence sent: signed delivery receipt');
    await item.getByTestId('review-resolve').click();
    await page.getByTestId('reviews-empty').waitFor();
    const [row] = await t
      .em()
      .getConnection()
      .execute<{ resolved_by: string; resolution: string; order_id: string }[]>(
        'select resolved_by, resolution, order_id from review_items',
      );
    expect(row).toEqual({
      resolved_by: 'ops@shop.test',
      resolution: 'Evidence sent: signed delivery receipt',
      order_id: disputed.id,
    });
    await screenshot('staff-review-resolved');
  });

  it('replays a ledger event from the webhook ledger', async () => {
    const ignored = await waitFor(async () => {
      const events = await sandboxEvents(sandbox);
      for (const event of events.filter((e) => e.type === 'charge.succeeded')) {
        const row = await ledgerRow(t, event.id);
        if (row?.outcome === 'ignored') return event;
      }
      return undefined;
    }, 'an ignored event in the ledger');
    await page.getByTestId('nav-ledger').click();
    await page.getByTestId('ledger-filter-outcome').selectOption('ignored');
    await page.getByTestId('ledger-filter-type').fill('charge.succeeded');
    await page.getByRole('button', { name: 'Filter' }).click();
    const row = page.locator(`[data-testid="ledger-row"][data-event-id="${ignored.id}"]`);
    await row.waitFor();
    await row.getByTestId('ledger-replay').click();
    await waitFor(
      async () =>
        (await page.getByTestId('ledger-message').textContent())?.startsWith(`Replayed ${ignored.id}`),
      'the replay to be reported',
    );
    expect(await page.getByTestId('ledger-message').textContent()).toContain('ignored → ignored');
    expect((await ledgerRow(t, ignored.id))?.detail).toMatch(/^replayed: /);
    await screenshot('staff-ledger-replayed');
  });

  it('reads on a phone: the orders table becomes cards, nothing scrolls sideways', async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    await page.getByTestId('nav-orders').click();
    await page.getByTestId('filter-email').fill('');
    await page.getByTestId('filter-status').selectOption('');
    await page.getByTestId('filter-apply').click();
    await waitFor(async () => (await page.getByTestId('order-row').count()) === 2, 'both orders');
    const overflow = await page.evaluate<number>('document.documentElement.scrollWidth - window.innerWidth');
    expect(overflow).toBeLessThanOrEqual(0);
    expect(await page.locator('table thead').first().isVisible()).toBe(false);
    await screenshot('staff-orders-phone');
    expect(problems).toEqual([]);
  });
});
