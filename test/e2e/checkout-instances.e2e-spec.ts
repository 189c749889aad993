import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import { SANDBOX_SECRET_KEY } from '../../src/config';
import { createTestApp, type TestApp } from '../support/app';
import { truncateAll } from '../support/db';
import { placeOrder } from '../support/factories';
import { sandboxStripe, startSandboxProcess } from '../support/sandbox';
import type { ServiceProcess } from '../support/service-process';
import { WEBHOOK_SECRET } from '../support/stripe-signature';

/**
 * Two instances, each listening on its own address, behind one public address (PUBLIC_URL), as a
 * load balancer serves them, against one Stripe (the standalone sandbox). Everything sent under an
 * idempotency key comes from the order and shared configuration, so a click that lands on either
 * instance reaches the same session.
 */
describe('Checkout across two instances behind one PUBLIC_URL', () => {
  let sandbox: ServiceProcess;
  let dataDir: string;
  let a: TestApp;
  let b: TestApp;

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'sandbox-'));
    sandbox = await startSandboxProcess({
      DATABASE_URL: '',
      DATA_DIR: dataDir,
      STRIPE_WEBHOOK_SECRET: WEBHOOK_SECRET,
      SANDBOX_RETRY_SCHEDULE: 'none',
    });
    const env = {
      STRIPE_SECRET_KEY: SANDBOX_SECRET_KEY,
      STRIPE_WEBHOOK_SECRET: WEBHOOK_SECRET,
      STRIPE_API_HOST: '127.0.0.1',
      STRIPE_API_PORT: String(sandbox.port),
      STRIPE_API_PROTOCOL: 'http',
      PUBLIC_URL: 'https://shop.example.com',
    };
    [a, b] = [await createTestApp({ listen: true, env }), await createTestApp({ listen: true, env })];
  });
  afterAll(async () => {
    await Promise.all([a?.close(), b?.close()]);
    await sandbox?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });
  beforeEach(() => truncateAll(a.orm));

  it('150 concurrent checkouts spread over both: no error, one session per order', async () => {
    const orders: Awaited<ReturnType<typeof placeOrder>>[] = [];
    for (let i = 0; i < 75; i++) orders.push(await placeOrder(a));
    const click = (t: TestApp, order: (typeof orders)[number]) =>
      request(t.http())
        .post(`/api/orders/${order.id}/checkout`)
        .set('Authorization', `Bearer ${order.accessToken}`);

    const answers = await Promise.all(orders.flatMap((order) => [click(a, order), click(b, order)]));
    expect(answers.map((answer) => answer.status)).toEqual(answers.map(() => 201));
    for (let i = 0; i < orders.length; i++) {
      expect(answers[2 * i].body.sessionId).toBe(answers[2 * i + 1].body.sessionId);
    }

    const sessions = [];
    for await (const session of sandboxStripe(sandbox.url).checkout.sessions.list({ limit: 100 })) {
      sessions.push(session);
    }
    const byOrder = new Map<string, number>();
    for (const session of sessions) {
      byOrder.set(session.client_reference_id!, (byOrder.get(session.client_reference_id!) ?? 0) + 1);
    }
    for (const order of orders) expect(byOrder.get(order.id)).toBe(1);
    const [{ count }] = await a
      .em()
      .getConnection()
      .execute<{ count: string }[]>(`select count(*) from payments where status = 'open'`);
    expect(Number(count)).toBe(orders.length);
  }, 180_000); // 225 requests and two services on a shared 2-core machine: no timing is asserted
});
