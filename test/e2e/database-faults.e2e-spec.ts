import { randomUUID } from 'node:crypto';
import { SANDBOX_WEBHOOK_SECRET } from '../../src/config';
import { PrivatePostgres } from '../support/private-postgres';
import { type ServiceProcess, startService } from '../support/service-process';
import { stripeEvent } from '../support/stripe-events';
import { signWithStripe } from '../support/stripe-signature';
import { waitFor } from '../support/wait';

/** What Stripe allows an endpoint before it counts the delivery as failed; we must answer well within. */
const ANSWER_WITHIN_MS = 8000;

/**
 * Bounded waits on the database: `node dist/main.js` on a PostgreSQL cluster of the test's own,
 * frozen (SIGSTOP) and stopped under it. Requests answer errors instead of hanging, and the same
 * process recovers when the database does.
 */
describe('Database faults', () => {
  let pg: PrivatePostgres;
  let service: ServiceProcess;

  beforeAll(async () => {
    pg = await PrivatePostgres.start('faults_test');
    service = await startService({
      DATABASE_URL: pg.url,
      DATABASE_CONNECT_TIMEOUT_MS: '2000',
      DATABASE_STATEMENT_TIMEOUT_MS: '2000',
      DATABASE_LOCK_TIMEOUT_MS: '1000',
    });
  }, 120_000);
  afterAll(async () => {
    pg?.thaw();
    await service?.stop();
    await pg?.destroy();
  });

  const get = (path: string) =>
    fetch(`${service.url}${path}`, { signal: AbortSignal.timeout(ANSWER_WITHIN_MS) });
  const webhook = () => {
    const body = stripeEvent('checkout.session.expired', {
      orderId: randomUUID(),
      sessionId: `cs_test_${randomUUID().replace(/-/g, '')}`,
      amount: 1000,
    });
    return fetch(`${service.url}/api/webhooks/stripe`, {
      method: 'POST',
      headers: {
        'Content-Type': 'application/json',
        'Stripe-Signature': signWithStripe(body, SANDBOX_WEBHOOK_SECRET),
      },
      body,
      signal: AbortSignal.timeout(ANSWER_WITHIN_MS),
    });
  };
  const healthy = () =>
    waitFor(
      async () => (await get('/api/health/ready').catch(() => null))?.status === 200,
      'readiness to pass again',
      30_000,
      200,
    );

  it('frozen (SIGSTOP): the webhook answers 5xx in time, REST 503 in the error shape, readiness fails; thawed: recovered', async () => {
    expect((await webhook()).status).toBe(200);
    pg.freeze();
    try {
      // fetch gives up after ANSWER_WITHIN_MS: an answer at all means the wait was bounded.
      const frozenWebhook = await webhook();
      expect(frozenWebhook.status).toBeGreaterThanOrEqual(500);
      const products = await get('/api/products');
      expect(products.status).toBe(503);
      expect(await products.json()).toEqual({
        statusCode: 503,
        code: 'UNAVAILABLE',
        message: expect.any(String),
        requestId: expect.any(String),
      });
      expect((await get('/api/health/ready')).status).toBe(503);
      expect((await get('/api/health')).status).toBe(200); // alive: no reason to restart it
    } finally {
      pg.thaw();
    }
    await healthy();
    expect((await webhook()).status).toBe(200);
    expect((await get('/api/products')).status).toBe(200);
    // The same process all along.
    expect(() => process.kill(service.pid, 0)).not.toThrow();
  }, 90_000);

  it('stopped: REST 503 and readiness fails; started again: recovered without a restart of the service', async () => {
    await pg.stop();
    try {
      const products = await get('/api/products');
      expect(products.status).toBe(503);
      expect(await products.json()).toMatchObject({ statusCode: 503, code: 'UNAVAILABLE' });
      expect((await webhook()).status).toBe(503);
      expect((await get('/api/health/ready')).status).toBe(503);
    } finally {
      await pg.start();
    }
    await healthy();
    expect((await get('/api/products')).status).toBe(200);
    expect((await webhook()).status).toBe(200);
    expect(() => process.kill(service.pid, 0)).not.toThrow();
  }, 90_000);
});
