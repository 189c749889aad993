import { RetentionJob } from '../../src/shared/database/retention.job';
import { createTestApp, type TestApp } from '../support/app';
import { truncateAll } from '../support/db';

/** The cleanup job: the ledger kept 30 days (configurable upwards), idempotency keys 24 hours. */
describe('Retention', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp({ env: { CLEANUP_INTERVAL_SECONDS: '0' } });
    await truncateAll(t.orm);
  });
  afterAll(() => t.close());

  const sql = <T = unknown>(query: string, params: unknown[] = []) =>
    t.em().getConnection().execute<T[]>(query, params);
  const ids = async (query: string) => (await sql<{ id: string }>(query)).map((row) => row.id).sort();

  it('deletes what is past its time and keeps the rest', async () => {
    await sql(
      `insert into processed_webhook_events (id, type, deliveries, received_at, last_delivery_at) values
        ('evt_31_days', 'checkout.session.completed', 1, now() - interval '31 days', now() - interval '31 days'),
        ('evt_29_days', 'checkout.session.completed', 1, now() - interval '29 days', now() - interval '29 days'),
        ('evt_today', 'checkout.session.completed', 1, now(), now())`,
    );
    await sql(
      `insert into idempotency_keys (key_hash, request_hash, status, created_at) values
        (repeat('a', 64), repeat('0', 64), 'done', now() - interval '25 hours'),
        (repeat('b', 64), repeat('0', 64), 'done', now() - interval '23 hours')`,
    );
    await sql(
      `insert into outbox_events (id, name, payload, created_at) values
        ('00000000-0000-4000-8000-000000000001', 'orders.paid', '{}', now() - interval '8 days'),
        ('00000000-0000-4000-8000-000000000002', 'orders.paid', '{}', now() - interval '8 days'),
        ('00000000-0000-4000-8000-000000000003', 'orders.paid', '{}', now() - interval '1 day')`,
    );
    await sql(
      `insert into outbox_deliveries (event_id, subscriber, status, attempts, next_attempt_at, created_at) values
        ('00000000-0000-4000-8000-000000000001', 'a.done', 'delivered', 1, now(), now()),
        ('00000000-0000-4000-8000-000000000002', 'a.done', 'delivered', 1, now(), now()),
        ('00000000-0000-4000-8000-000000000002', 'b.dead', 'dead', 8, now(), now()),
        ('00000000-0000-4000-8000-000000000003', 'a.done', 'delivered', 1, now(), now())`,
    );

    expect(await t.app.get(RetentionJob).run()).toEqual({ ledger: 1, idempotencyKeys: 1, outboxEvents: 1 });
    expect(await ids('select id from processed_webhook_events')).toEqual(['evt_29_days', 'evt_today']);
    expect(await sql(`select key_hash from idempotency_keys`)).toEqual([{ key_hash: 'b'.repeat(64) }]);
    expect(await ids('select id from outbox_events')).toEqual([
      '00000000-0000-4000-8000-000000000002', // a dead delivery waits for staff
      '00000000-0000-4000-8000-000000000003',
    ]);
    expect(await t.app.get(RetentionJob).run()).toEqual({ ledger: 0, idempotencyKeys: 0, outboxEvents: 0 });
  });
});
