import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startService } from '../support/service-process';
import { waitFor } from '../support/wait';

/**
 * The default a newcomer gets: no DATABASE_URL, so the built service (as `npm start` runs it) boots
 * on an embedded PGlite whose files outlive a restart. PGlite loads WebAssembly through dynamic
 * imports that Jest's module sandbox refuses, hence a real process.
 */
describe('Embedded database (PGlite)', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'payflow-pglite-'));
  const env = { DATABASE_URL: '', DATA_DIR: dataDir };
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it('boots on migrations, serves orders and checkouts, and keeps them across a restart', async () => {
    const first = await startService(env);
    let order: { id: string; accessToken: string; totalAmount: number };
    let session: { sessionId: string; url: string };
    const checkout = (baseUrl: string) =>
      fetch(`${baseUrl}/api/orders/${order.id}/checkout`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${order.accessToken}` },
      });
    try {
      // Log lines leave asynchronously: wait for them rather than read the output at once.
      await waitFor(
        () => first.output().includes('Applied migrations: Migration20261126194947_orders'),
        'the migrations in the log',
      );
      expect(first.output()).toContain(`Database: embedded PGlite in ${join(dataDir, 'pglite')}`);
      const products = (await (await fetch(`${first.url}/api/products`)).json()) as {
        id: string;
        sku: string;
      }[];
      const beans = products.find((p) => p.sku === 'BEANS-250')!;
      const created = await fetch(`${first.url}/api/orders`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({
          customerEmail: 'buyer@example.com',
          items: [{ productId: beans.id, quantity: 3 }],
        }),
      });
      expect(created.status).toBe(201);
      order = (await created.json()) as typeof order;
      expect(order.totalAmount).toBe(3 * 1450);
      // A checkout (the offline sandbox answers as Stripe): its statements run on PGlite too.
      const opened = await checkout(first.url);
      expect(opened.status).toBe(201);
      session = (await opened.json()) as typeof session;
      expect(session.sessionId).toMatch(/^cs_test_/);
      expect((await fetch(`${first.url}/api/health/ready`)).status).toBe(200);
    } finally {
      await first.stop();
    }

    const second = await startService(env);
    try {
      expect(second.output()).not.toContain('Applied migrations');
      const fetched = await fetch(`${second.url}/api/orders/${order.id}`, {
        headers: { Authorization: `Bearer ${order.accessToken}` },
      });
      expect(fetched.status).toBe(200);
      expect(await fetched.json()).toMatchObject({ id: order.id, status: 'pending', totalAmount: 4350 });
      // The attempt was kept: the session still open is handed out again, not a second one.
      const again = await checkout(second.url);
      expect(again.status).toBe(201);
      expect(await again.json()).toMatchObject({ sessionId: session.sessionId, url: session.url });
      const products = (await (await fetch(`${second.url}/api/products`)).json()) as unknown[];
      expect(products).toHaveLength(5); // seeded once, not again on the second boot
    } finally {
      await second.stop();
    }
  }, 180_000);
});
