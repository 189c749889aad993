import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startService } from '../support/service-process';

/**
 * The default a newcomer gets: no DATABASE_URL, so the built service (as `npm start` runs it) boots
 * on an embedded PGlite whose files outlive a restart. PGlite loads WebAssembly through dynamic
 * imports that Jest's module sandbox refuses, hence a real process.
 */
describe('Embedded database (PGlite)', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'payflow-pglite-'));
  const env = { DATABASE_URL: '', DATA_DIR: dataDir };
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it('boots on migrations, serves orders, and keeps them across a restart', async () => {
    const first = await startService(env);
    let order: { id: string; accessToken: string; totalAmount: number };
    try {
      expect(first.output()).toContain(`Database: embedded PGlite in ${join(dataDir, 'pglite')}`);
      expect(first.output()).toContain('Applied migrations: Migration20261126194947_orders');
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
      const products = (await (await fetch(`${second.url}/api/products`)).json()) as unknown[];
      expect(products).toHaveLength(5); // seeded once, not again on the second boot
    } finally {
      await second.stop();
    }
  }, 180_000);
});
