import { Client } from 'pg';
import { catalog, placeOrderAt, startCheckoutAt } from '../support/service-api';
import { payWithCard, TEST_CARDS } from '../support/sandbox';
import { freePort, type ServiceProcess, startService } from '../support/service-process';
import { waitFor } from '../support/wait';

const SUBSCRIBER = 'fulfilment.request-shipment';

/**
 * The outbox's promise, the hard way: `node dist/main.js` is killed (SIGKILL, by a test hook just
 * before the `orders.paid` reaction runs) after the payment committed; the service started again
 * runs the reaction it never ran. The reaction is the README's worked example (src/fulfilment).
 */
describe('Outbox: a crash between the commit and the reaction', () => {
  let db: Client;
  let service: ServiceProcess | undefined;

  beforeAll(async () => {
    db = new Client({ connectionString: process.env.DATABASE_URL });
    await db.connect();
  });
  afterAll(async () => {
    await service?.stop();
    await db.end();
  });

  const rows = async <T>(sql: string, params: unknown[] = []) => (await db.query(sql, params)).rows as T[];

  it('the killed process does not react; the restarted one does, once', async () => {
    const port = String(await freePort());
    const env = {
      PORT: port,
      SANDBOX_PORT: String(await freePort()),
      FULFILMENT_EXAMPLE: 'true',
      // Claims of the dead process are free again after this.
      OUTBOX_LEASE_SECONDS: '2',
    };
    service = await startService({ ...env, OUTBOX_TEST_CRASH_BEFORE: SUBSCRIBER });
    const [product] = await catalog(service.url);
    const order = await placeOrderAt(service.url, product.id);
    const { url } = await startCheckoutAt(service.url, order);
    expect((await payWithCard(url, { number: TEST_CARDS.success })).status).toBe(303);

    // The sandbox's webhook makes the order paid; right after the commit, the relay kills the process.
    expect(await service.exited).toEqual({ code: null, signal: 'SIGKILL' });
    expect(await rows(`select status from orders where id = $1`, [order.id])).toEqual([{ status: 'paid' }]);
    expect(await rows(`select * from fulfilment_requests where order_id = $1`, [order.id])).toEqual([]);
    const [pending] = await rows<{ event_id: string; status: string; attempts: number }>(
      `select d.event_id, d.status, d.attempts from outbox_deliveries d join outbox_events e on e.id = d.event_id
        where d.subscriber = $1 and e.name = 'orders.paid' and e.payload->>'orderId' = $2`,
      [SUBSCRIBER, order.id],
    );
    expect(pending).toMatchObject({ status: 'pending', attempts: 1 });

    service = await startService(env);
    const [request] = await waitFor(
      async () => {
        const found = await rows<{ event_id: string; amount: number }>(
          `select event_id, amount from fulfilment_requests where order_id = $1`,
          [order.id],
        );
        return found.length > 0 && found;
      },
      'the restarted service to request the shipment',
      30_000,
    );
    expect(request).toEqual({ event_id: pending.event_id, amount: order.totalAmount });
    // Successes are marked in batches, a moment after the reaction ran.
    const delivered = await waitFor(async () => {
      const [row] = await rows<{ status: string; attempts: number }>(
        `select status, attempts from outbox_deliveries where event_id = $1 and subscriber = $2`,
        [pending.event_id, SUBSCRIBER],
      );
      return row?.status === 'delivered' && row;
    }, 'the delivery to be marked delivered');
    expect(delivered).toEqual({ status: 'delivered', attempts: 2 });
  }, 120_000);
});
