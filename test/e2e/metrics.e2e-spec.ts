import request from 'supertest';
import { createTestApp, type TestApp } from '../support/app';
import { truncateAll } from '../support/db';
import { placeOrder } from '../support/factories';
import { orderRow, startCheckout } from '../support/payments';
import { payWithCard, TEST_CARDS } from '../support/sandbox';
import { freePort } from '../support/service-process';
import { waitFor } from '../support/wait';

/** `/metrics` in Prometheus format on METRICS_PORT, never on the public port, off by default. */
describe('Metrics', () => {
  let t: TestApp;
  let metricsUrl: string;

  beforeAll(async () => {
    const port = await freePort();
    t = await createTestApp({ listen: true, env: { METRICS_PORT: String(port) } });
    metricsUrl = `http://127.0.0.1:${port}/metrics`;
    await truncateAll(t.orm);
  });
  afterAll(() => t.close());

  const scrape = async () => {
    const response = await fetch(metricsUrl);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    return response.text();
  };

  it('counts webhook outcomes by type, times deliveries, and reports open review items and refunds', async () => {
    const order = await placeOrder(t);
    const { url } = await startCheckout(t, order);
    await payWithCard(url, { number: TEST_CARDS.success });
    await waitFor(async () => (await orderRow(t, order.id)).status === 'paid', 'the order to be paid');

    const text = await scrape();
    expect(text).toMatch(
      /^payflow_webhook_events\{type="checkout\.session\.completed",outcome="applied"\} 1$/m,
    );
    expect(text).toMatch(/^payflow_webhook_duration_seconds_count\{status="200"\} [1-9]\d*$/m);
    // A refused delivery is timed too, under its status.
    await request(t.http()).post('/api/webhooks/stripe').set('Content-Type', 'application/json').send('{}');
    expect(await scrape()).toMatch(/^payflow_webhook_duration_seconds_count\{status="400"\} 1$/m);
    expect(text).toMatch(/^payflow_review_items_open 0$/m);
    expect(text).toContain('# TYPE payflow_refunds gauge');
    expect(text).toContain('# TYPE payflow_reconciliation_runs_total counter');
    // Nothing about customers: no e-mail, no order id.
    expect(text).not.toContain(order.id);
    expect(text).not.toContain('buyer@example.com');
  });

  it('is not served on the public port, and answers nothing but GET /metrics', async () => {
    await request(t.http()).get('/metrics').expect(404);
    expect((await fetch(metricsUrl.replace('/metrics', '/'))).status).toBe(404);
    expect((await fetch(metricsUrl, { method: 'POST' })).status).toBe(404);
  });
});
