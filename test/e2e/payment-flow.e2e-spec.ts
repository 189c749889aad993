import request from 'supertest';
import { AppConfig } from '../../src/config';
import { createTestApp, type TestApp } from '../support/app';
import { truncateAll } from '../support/db';
import { placeOrder, type PlacedOrderBody } from '../support/factories';
import { historyRows, ledgerRow, orderRow, startCheckout, transitions } from '../support/payments';
import {
  advanceSandboxClock,
  openCheckoutPage,
  payByBank,
  payWithCard,
  sandboxEvents,
  type SandboxEvent,
  setSandboxChaos,
  TEST_BANK_ACCOUNTS,
  TEST_CARDS,
} from '../support/sandbox';
import { waitFor } from '../support/wait';

/**
 * The whole flow offline, as in production but with the sandbox playing Stripe: the service's real
 * Stripe adapter talks to it over HTTP, the customer acts on its checkout page (an HTTP form), and
 * its signed webhooks reach the service's endpoint. Each test checks how the order ends.
 */
describe('Payment flow through the Stripe sandbox', () => {
  let t: TestApp;
  let sandbox: string;

  beforeAll(async () => {
    t = await createTestApp({ listen: true, env: { SANDBOX_SETTLEMENT_SECONDS: '5' } });
    sandbox = `http://127.0.0.1:${t.app.get(AppConfig).sandbox.port}`;
  });
  afterAll(() => t.close());
  beforeEach(async () => {
    await setSandboxChaos(sandbox, { duplicates: false, outOfOrder: false, delaySeconds: 0 });
    await truncateAll(t.orm);
  });

  const statusBecomes = (order: PlacedOrderBody, status: string, reason?: string) =>
    waitFor(
      async () => {
        const row = await orderRow(t, order.id);
        return row.status === status && (reason === undefined || row.status_reason === reason) && row;
      },
      `order ${order.id} to be ${status}${reason ? ` (${reason})` : ''}`,
    );

  /** The sandbox keeps every event since it started: pick this session's completion. */
  const completedFor = (event: SandboxEvent, sessionId: string) =>
    event.type === 'checkout.session.completed' && event.objectId === sessionId;

  it('card 4242: redirected to the success URL, and the webhook makes the order paid', async () => {
    const order = await placeOrder(t);
    const { url, sessionId } = await startCheckout(t, order);

    const page = await payWithCard(url, { number: TEST_CARDS.success });
    expect(page.status).toBe(303);
    expect(page.location).toBe(
      `${t.app.get(AppConfig).publicUrl}/checkout/success?orderId=${order.id}&session_id=${sessionId}`,
    );

    await statusBecomes(order, 'paid');
    const paidBy = (await historyRows(t, order.id)).find(
      (row) => row.to_status === 'paid' && row.from_status !== 'paid',
    );
    // Nobody called the success page's check here: the webhook did it.
    const completed = (await sandboxEvents(sandbox)).find((e) => completedFor(e, sessionId));
    expect(paidBy).toMatchObject({ source_kind: 'webhook', source_ref: completed!.id });
    expect(await ledgerRow(t, completed!.id)).toMatchObject({ outcome: 'applied', order_id: order.id });
  });

  it('the success page check confirms the payment even before the webhook', async () => {
    await setSandboxChaos(sandbox, { delaySeconds: 60 }); // webhooks held back
    const order = await placeOrder(t);
    const { url, sessionId } = await startCheckout(t, order);
    await payWithCard(url, { number: TEST_CARDS.success });
    expect(await orderRow(t, order.id)).toMatchObject({ status: 'pending' });

    const confirmed = await request(t.http())
      .post(`/api/orders/${order.id}/checkout/confirm`)
      .set('Authorization', `Bearer ${order.accessToken}`)
      .send({ sessionId })
      .expect(200);
    expect(confirmed.body.status).toBe('paid');
    expect((await historyRows(t, order.id)).at(-1)).toMatchObject({
      to_status: 'paid',
      source_kind: 'redirect',
    });

    await advanceSandboxClock(sandbox, 61); // the webhooks arrive late, and change nothing
    const completed = await waitFor(
      async () => (await sandboxEvents(sandbox)).find((e) => completedFor(e, sessionId)),
      'the completed event',
    );
    const recorded = await waitFor(() => ledgerRow(t, completed.id), 'the late webhook to be recorded');
    expect(recorded).toMatchObject({ outcome: 'ignored', detail: 'attempt 1 already succeeded' });
    expect(await transitions(t, order.id)).toEqual(['∅→pending', 'pending→paid']);
  });

  it.each([
    ['generic decline', TEST_CARDS.genericDecline, 'Your card was declined.'],
    ['insufficient funds', TEST_CARDS.insufficientFunds, 'Your card has insufficient funds.'],
    ['expired card', TEST_CARDS.expiredCard, 'Your card has expired.'],
    ['incorrect CVC', TEST_CARDS.incorrectCvc, "Your card's security code is incorrect."],
  ])('%s, then 4242 on the same page: failed with the message, then paid', async (_name, card, message) => {
    const order = await placeOrder(t);
    const { url } = await startCheckout(t, order);

    const declined = await payWithCard(url, { number: card });
    expect(declined.status).toBe(402); // the page again, with the error: the session stays open
    expect(declined.alert).toBe(message);
    await statusBecomes(order, 'failed', message);

    const paid = await payWithCard(url, { number: TEST_CARDS.success });
    expect(paid.status).toBe(303);
    await statusBecomes(order, 'paid');
    expect(await transitions(t, order.id)).toEqual(['∅→pending', 'pending→failed', 'failed→paid']);
  });

  it('a bank payment that settles: processing, then paid once the sandbox clock passes settlement', async () => {
    const order = await placeOrder(t);
    const { url } = await startCheckout(t, order);
    expect((await payByBank(url, TEST_BANK_ACCOUNTS.settles)).status).toBe(303);
    await statusBecomes(order, 'processing');

    await advanceSandboxClock(sandbox, 5);
    await statusBecomes(order, 'paid');
    expect(await transitions(t, order.id)).toEqual(['∅→pending', 'pending→processing', 'processing→paid']);
  });

  it('a bank payment that fails: processing, then failed with the reason', async () => {
    const order = await placeOrder(t);
    const { url } = await startCheckout(t, order);
    await payByBank(url, TEST_BANK_ACCOUNTS.accountClosed);
    await statusBecomes(order, 'processing');

    await advanceSandboxClock(sandbox, 5);
    const row = await statusBecomes(order, 'failed');
    expect(row.status_reason).toEqual(expect.any(String));
    expect(await transitions(t, order.id)).toEqual(['∅→pending', 'pending→processing', 'processing→failed']);
  });

  it('cancel on the checkout page leads to cancel_url; canceling the order there expires the session', async () => {
    const order = await placeOrder(t);
    const { url } = await startCheckout(t, order);
    const page = await openCheckoutPage(url);
    expect(page.cancelHref).toBe(`${t.app.get(AppConfig).publicUrl}/checkout/cancel?orderId=${order.id}`);

    await request(t.http())
      .post(`/api/orders/${order.id}/cancel`)
      .set('Authorization', `Bearer ${order.accessToken}`)
      .expect(200);
    // The sandbox now reports the session expired; the late news leaves the order canceled.
    await waitFor(
      async () => (await historyRows(t, order.id)).some((row) => row.reason.includes('Checkout expired')),
      'the expiry to be recorded',
    );
    expect(await orderRow(t, order.id)).toMatchObject({ status: 'canceled', needs_review: false });
    expect((await payWithCard(url, { number: TEST_CARDS.success })).status).not.toBe(303);
  });

  it('expiry at expires_at: failed "Checkout expired"; a new checkout then pays', async () => {
    const order = await placeOrder(t);
    const first = await startCheckout(t, order);
    await advanceSandboxClock(sandbox, 36 * 60);
    await statusBecomes(order, 'failed', 'Checkout expired');

    const second = await startCheckout(t, order);
    expect(second.sessionId).not.toBe(first.sessionId);
    await payWithCard(second.url, { number: TEST_CARDS.success });
    await statusBecomes(order, 'paid');
    expect(await transitions(t, order.id)).toEqual([
      '∅→pending',
      'pending→failed',
      'failed→pending',
      'pending→paid',
    ]);
  });

  it('duplicated, out-of-order deliveries still end in exactly one transition each', async () => {
    await setSandboxChaos(sandbox, { duplicates: true, outOfOrder: true, delaySeconds: 1 });
    const order = await placeOrder(t);
    const { url } = await startCheckout(t, order);
    await payByBank(url, TEST_BANK_ACCOUNTS.settles);
    await advanceSandboxClock(sandbox, 5);
    await advanceSandboxClock(sandbox, 2);
    await statusBecomes(order, 'paid');
    const transitionsSeen = await transitions(t, order.id);
    expect(transitionsSeen.filter((step) => step.endsWith('→paid'))).toHaveLength(1);
    const [duplicates] = await t
      .em()
      .getConnection()
      .execute<{ n: number }[]>(
        'select count(*)::int as n from processed_webhook_events where deliveries > 1',
      );
    expect(duplicates.n).toBeGreaterThan(0);
  });
});
