import { Client } from 'pg';
import request from 'supertest';
import { OrderCanceledEvent, OrderPlacedEvent } from '../../src/orders';
import { Order } from '../../src/orders/order.entity';
import { OutboxMonitor, OutboxRegistry } from '../../src/shared/outbox';
import { execute } from '../../src/shared/database/explicit-sql';
import {
  CLAIM,
  MAX_IN_HAND,
  markDeliveredStatement,
  NEXT_DUE,
  OutboxRelay,
} from '../../src/shared/outbox/outbox.relay';
import { type OutboxInsert, OutboxWriter } from '../../src/shared/outbox/outbox.writer';
import { createTestApp, type TestApp } from '../support/app';
import { truncateAll } from '../support/db';
import { placeOrder } from '../support/factories';
import { waitFor } from '../support/wait';

interface DeliveryRow {
  id: string;
  name: string;
  subscriber: string;
  status: string;
  attempts: number;
  last_error: string | null;
  event_id: string;
}

async function deliveries(t: TestApp, orderId?: string): Promise<DeliveryRow[]> {
  return t
    .em()
    .getConnection()
    .execute<DeliveryRow[]>(
      `select d.id, e.name, d.subscriber, d.status, d.attempts, d.last_error, d.event_id
         from outbox_deliveries d join outbox_events e on e.id = d.event_id
        where ?::text is null or e.payload->>'orderId' = ?
        order by d.id`,
      [orderId ?? null, orderId ?? null],
    );
}

/**
 * `count` outbox events (`test.backlog`, payload `{n}`, n from 1) and a delivery of each, whose
 * status, next attempt and lease are SQL expressions of `n`.
 */
function backlog(
  count: number,
  columns: { status: string; nextAttemptAt: string; lockedUntil: string },
): string {
  return `
    with events as (
      insert into outbox_events (id, name, payload, created_at)
      select gen_random_uuid(), 'test.backlog', jsonb_build_object('n', n), now()
        from generate_series(1, ${count}) as n
      returning id, (payload->>'n')::int as n)
    insert into outbox_deliveries (event_id, subscriber, status, attempts, next_attempt_at, locked_until, created_at)
    select id, 'test.backlog', ${columns.status}, 1, ${columns.nextAttemptAt}, ${columns.lockedUntil}, now()
      from events`;
}

/**
 * How PostgreSQL would run `statement`: every index its plan goes through (marked `(whole)` if read
 * without a condition on its key, as a scan of every entry) and every table it reads in full.
 */
async function planReads(
  explain: (text: string, params: unknown[]) => Promise<{ 'QUERY PLAN': unknown }[]>,
  statement: string,
  params: readonly unknown[],
): Promise<string[]> {
  const [{ 'QUERY PLAN': plan }] = await explain(`explain (format json) ${statement}`, [...params]);
  const reads: string[] = [];
  const walk = (node: Record<string, unknown>) => {
    if (typeof node['Index Name'] === 'string')
      reads.push(`${node['Index Name']}${node['Index Cond'] === undefined ? ' (whole)' : ''}`);
    if (node['Node Type'] === 'Seq Scan') reads.push(`seq scan of ${String(node['Relation Name'])}`);
    for (const child of (node.Plans as Record<string, unknown>[] | undefined) ?? []) walk(child);
  };
  walk((plan as { Plan: Record<string, unknown> }[])[0].Plan);
  return [...new Set(reads)].sort();
}

/**
 * The transactional outbox in one process: what a change writes, in its own transaction; delivery
 * per subscriber with retries and a dead-letter state; the wake-up by NOTIFY. (The crash between
 * commit and reaction: outbox-crash.e2e-spec.ts.)
 */
describe('Transactional outbox', () => {
  let t: TestApp;
  /** What the test subscribers saw, and how they behave. */
  const seen: { subscriber: string; orderId: string; eventId: string; attempt: number }[] = [];
  let failuresLeft = 0;

  beforeAll(async () => {
    t = await createTestApp({
      env: { OUTBOX_RETRY_SCHEDULE: '0.1,0.1,0.1', OUTBOX_POLL_SECONDS: '1' },
    });
    const registry = t.app.get(OutboxRegistry);
    registry.subscribe(OrderPlacedEvent, 'test.flaky', (event, delivery) => {
      seen.push({ subscriber: 'test.flaky', orderId: event.orderId, ...delivery });
      if (failuresLeft-- > 0) throw new Error('flaky consumer down');
    });
    registry.subscribe(OrderCanceledEvent, 'test.broken', (event, delivery) => {
      seen.push({ subscriber: 'test.broken', orderId: event.orderId, ...delivery });
      throw new Error('broken consumer');
    });
  });
  afterAll(() => t.close());
  beforeEach(async () => {
    await truncateAll(t.orm);
    seen.length = 0;
    failuresLeft = 0;
  });

  it('a change writes its events for each durable subscriber in its own transaction; all get delivered', async () => {
    const order = await placeOrder(t);
    const rows = await waitFor(async () => {
      const all = await deliveries(t, order.id);
      return all.length > 0 && all.every((row) => row.status === 'delivered') && all;
    }, 'the deliveries to be delivered');
    expect(rows.map((row) => `${row.name} → ${row.subscriber}`).sort()).toEqual([
      'orders.placed → staff.push-order-placed',
      'orders.placed → test.flaky',
    ]);
    expect(rows.every((row) => row.attempts === 1)).toBe(true);
    expect(seen).toEqual([
      {
        subscriber: 'test.flaky',
        orderId: order.id,
        eventId: rows.find((r) => r.subscriber === 'test.flaky')!.event_id,
        attempt: 1,
      },
    ]);
  });

  it('a transaction that rolls back leaves no outbox row and delivers nothing', async () => {
    const em = t.em();
    const order = await placeOrder(t);
    await waitFor(
      async () => (await deliveries(t, order.id)).every((row) => row.status === 'delivered'),
      'the placement',
    );
    const before = await deliveries(t);
    // A cancellation whose transaction fails after the change was flushed.
    await expect(
      em.transactional(async (tx) => {
        const loaded = await tx.findOneOrFail(Order, order.id, { refresh: true });
        loaded.cancel({ kind: 'api' });
        await tx.flush();
        expect(await tx.execute(`select status from orders where id = ?`, [order.id])).toEqual([
          { status: 'canceled' },
        ]);
        throw new Error('rolled back on purpose');
      }),
    ).rejects.toThrow('rolled back on purpose');
    expect(await deliveries(t)).toEqual(before);
    expect(seen.filter((s) => s.subscriber === 'test.broken')).toEqual([]);
  });

  it('a failing subscriber is retried on its own, with the same event id, until it succeeds', async () => {
    failuresLeft = 2;
    const order = await placeOrder(t);
    const flaky = await waitFor(async () => {
      const row = (await deliveries(t, order.id)).find((r) => r.subscriber === 'test.flaky');
      return row?.status === 'delivered' && row;
    }, 'the flaky delivery to succeed');
    expect(flaky.attempts).toBe(3);
    expect(seen.map((s) => [s.attempt, s.eventId])).toEqual([
      [1, flaky.event_id],
      [2, flaky.event_id],
      [3, flaky.event_id],
    ]);
    // The staff push of the same event went out once: its delivery did not run again with the retries.
    const push = (await deliveries(t, order.id)).find((r) => r.subscriber === 'staff.push-order-placed');
    expect(push).toMatchObject({ status: 'delivered', attempts: 1 });
  });

  it('a transaction of explicit statements writes the rows rowsOf gives (here gated) and runs them once committed', async () => {
    const writer = t.app.get(OutboxWriter);
    const write = async (orderId: string, gate: boolean) => {
      const rows = writer.rowsOf([new OrderPlacedEvent(orderId, 500, 'usd', new Date())])!;
      const gated = (insert: OutboxInsert) =>
        `insert into ${insert.table} (${insert.columns})
         select * from (values ${insert.values}) as v where (select ok from gate)`;
      await t.em().transactional(async (tx) => {
        await tx.execute(
          `with gate as (select ?::boolean as ok), events as (${gated(rows.events)}) ${gated(rows.deliveries)}`,
          [gate, ...rows.events.params, ...rows.deliveries.params],
        );
      });
      if (gate) rows.committed();
    };
    await write('explicit-refused', false);
    await write('explicit-order', true);
    await waitFor(async () => {
      const all = await deliveries(t, 'explicit-order');
      return all.length > 0 && all.every((row) => row.status === 'delivered') && all;
    }, "the explicit transaction's deliveries to be delivered");
    expect(seen.map((s) => [s.subscriber, s.orderId, s.attempt])).toEqual([
      ['test.flaky', 'explicit-order', 1],
    ]);
    expect(await deliveries(t, 'explicit-refused')).toEqual([]);
  });

  it('marks deliveries done by their key alone: never through the pending rows, never a dead one', async () => {
    const em = t.em();
    const connection = em.getConnection();
    // Statistics taken while little is pending; then a backlog of 3,000 pending deliveries (leased
    // far ahead, so that the relay leaves them alone) and one dead-lettered.
    await connection.execute('analyze outbox_deliveries');
    await connection.execute(
      backlog(3001, {
        status: `case when n = 3001 then 'dead' else 'pending' end`,
        nextAttemptAt: 'now()',
        lockedUntil: `now() + interval '1 hour'`,
      }),
    );
    const done = await connection.execute<{ event_id: string; subscriber: string }[]>(
      `select d.event_id, d.subscriber from outbox_deliveries d join outbox_events e on e.id = d.event_id
        where (e.payload->>'n')::int in (1, 2, 3001) order by (e.payload->>'n')::int`,
    );
    const statement = markDeliveredStatement(done);

    const explain = (text: string, params: unknown[]) =>
      connection.execute<{ 'QUERY PLAN': unknown }[]>(text, params);
    expect(await planReads(explain, statement.text, statement.values)).toEqual([
      'outbox_deliveries_event_id_subscriber_unique',
      'outbox_deliveries_pkey',
    ]);

    await execute(em.fork(), statement);
    const after = await connection.execute<{ n: number; status: string }[]>(
      `select (e.payload->>'n')::int as n, d.status from outbox_deliveries d join outbox_events e on e.id = d.event_id
        where e.name = 'test.backlog' and d.status <> 'pending' order by 1`,
    );
    expect(after).toEqual([
      { n: 1, status: 'delivered' },
      { n: 2, status: 'delivered' },
      { n: 3001, status: 'dead' },
    ]);
  });

  it('claims what is due through the index of due moments, past a backlog that instances hold, and finds the earliest there too', async () => {
    // Uncommitted, so that the running relay never sees these rows: the transaction is rolled back.
    const rolledBack = new Error('rolled back on purpose');
    await expect(
      t.em().transactional(async (tx) => {
        await tx.execute('analyze outbox_deliveries');
        // 3,000 deliveries held by instances (leased an hour ahead), one free and due, one whose
        // holder died (lease over), one not due for an hour.
        await tx.execute(
          backlog(3003, {
            status: `'pending'`,
            nextAttemptAt: `case when n = 3003 then now() + interval '1 hour' else now() - interval '1 minute' end`,
            lockedUntil: `case when n <= 3000 then now() + interval '1 hour'
                               when n = 3002 then now() - interval '1 second' end`,
          }),
        );
        const explain = (text: string, params: unknown[]) =>
          tx.execute<{ 'QUERY PLAN': unknown }[]>(text, params);
        expect(await planReads(explain, CLAIM, [50, 30_000])).toEqual([
          'outbox_deliveries_due_at_index',
          'outbox_deliveries_pkey',
          'outbox_events_pkey',
        ]);
        // The relay's timer: the earliest due moment.
        expect(await planReads(explain, NEXT_DUE, [])).toEqual(['outbox_deliveries_due_at_index']);

        const claimed = await tx.execute<{ payload: { n: number }; attempts: number }[]>(CLAIM, [50, 30_000]);
        expect(claimed.map((row) => [row.payload.n, row.attempts]).sort()).toEqual([
          [3001, 2],
          [3002, 2],
        ]);
        throw rolledBack;
      }),
    ).rejects.toBe(rolledBack);
  });

  it('a subscriber failing every retry is dead-lettered, listed for staff, and can be retried', async () => {
    const order = await placeOrder(t);
    await request(t.http())
      .post(`/api/orders/${order.id}/cancel`)
      .set('Authorization', `Bearer ${order.accessToken}`)
      .expect(200);
    const dead = await waitFor(async () => {
      const row = (await deliveries(t, order.id)).find((r) => r.subscriber === 'test.broken');
      return row?.status === 'dead' && row;
    }, 'the broken delivery to be dead-lettered');
    expect(dead).toMatchObject({ attempts: 4, last_error: 'Error: broken consumer' });
    expect(seen.filter((s) => s.subscriber === 'test.broken')).toHaveLength(4);

    const monitor = t.app.get(OutboxMonitor);
    expect(await monitor.dead()).toEqual([
      expect.objectContaining({
        id: String(dead.id),
        eventId: dead.event_id,
        eventName: 'orders.canceled',
        subscriber: 'test.broken',
        attempts: 4,
        lastError: 'Error: broken consumer',
      }),
    ]);
    expect(await monitor.counts()).toMatchObject({ dead: 1, pending: 0 });
    // The other reaction to the same commit (the push of the canceled status) was not held back.
    const push = (await deliveries(t, order.id)).filter((r) => r.subscriber === 'notifications.push-status');
    expect(push.map((r) => [r.status, r.attempts])).toEqual([['delivered', 1]]);

    expect(await monitor.retry(String(dead.id))).toBe(true);
    await waitFor(() => seen.filter((s) => s.subscriber === 'test.broken').length === 8, 'a second round');
    await waitFor(
      async () =>
        (await deliveries(t, order.id)).find((r) => r.subscriber === 'test.broken')?.status === 'dead',
      'dead again',
    );
    expect(await monitor.retry(String(push[0].id))).toBe(false); // only dead ones
  });
});

describe('Transactional outbox: wake-up across instances', () => {
  let t: TestApp;
  const seen: string[] = [];

  beforeAll(async () => {
    // No timer to speak of: only a NOTIFY can wake this relay.
    t = await createTestApp({ env: { OUTBOX_POLL_SECONDS: '3600' } });
    t.app.get(OutboxRegistry).subscribe(OrderPlacedEvent, 'test.remote', (event) => {
      seen.push(event.orderId);
    });
    await truncateAll(t.orm);
  });
  afterAll(() => t.close());

  it('a delivery committed by another instance is relayed here on its NOTIFY', async () => {
    // Another instance's commit, as it writes it: event, delivery and NOTIFY in one transaction.
    const other = new Client({ connectionString: process.env.DATABASE_URL });
    await other.connect();
    try {
      await other.query('begin');
      await other.query(
        `insert into outbox_events (id, name, payload, created_at)
         values ('6f1c1f38-55f4-4a53-9b25-0c0ad0b1c001', 'orders.placed',
                 '{"orderId": "remote-order", "totalAmount": 100, "currency": "usd", "occurredAt": {"$date": "2026-11-29T07:00:00.000Z"}}', now())`,
      );
      await other.query(
        `insert into outbox_deliveries (event_id, subscriber, status, attempts, next_attempt_at, created_at)
         values ('6f1c1f38-55f4-4a53-9b25-0c0ad0b1c001', 'test.remote', 'pending', 0, now(), now())`,
      );
      await other.query(`select pg_notify('outbox_deliveries', '')`);
      await other.query('commit');
    } finally {
      await other.end();
    }
    await waitFor(() => seen.includes('remote-order'), 'the NOTIFY to wake the relay');
  });
});

describe('Transactional outbox: the committing instance runs its own deliveries', () => {
  let a: TestApp;
  let b: TestApp;
  /** Which instance ran which order's delivery to `test.where`. */
  const ran: string[] = [];
  let releaseA!: () => void;
  const heldInA = new Promise<void>((resolve) => (releaseA = resolve));

  beforeAll(async () => {
    // A never polls (nothing but its own commits runs there); B polls all the time.
    a = await createTestApp({ env: { OUTBOX_POLL_SECONDS: '3600' } });
    b = await createTestApp({ env: { OUTBOX_POLL_SECONDS: '0.05' } });
    await truncateAll(a.orm);
    a.app.get(OutboxRegistry).subscribe(OrderPlacedEvent, 'test.where', async (event) => {
      ran.push(`a ${event.orderId}`);
      await heldInA;
    });
    b.app.get(OutboxRegistry).subscribe(OrderPlacedEvent, 'test.where', (event) => {
      ran.push(`b ${event.orderId}`);
    });
  });
  afterAll(async () => {
    releaseA();
    await a.close();
    await b.close();
  });

  it('its deliveries are claimed in the commit: another instance claiming meanwhile leaves them alone', async () => {
    const order = await placeOrder(a);
    await waitFor(() => ran.includes(`a ${order.id}`), 'A to run its own delivery');
    // Another instance's commit, left for anyone to claim (no NOTIFY: only B's polling finds it).
    await a
      .em()
      .getConnection()
      .execute(
        `with event as (
           insert into outbox_events (id, name, payload, created_at)
           values ('6f1c1f38-55f4-4a53-9b25-0c0ad0b1c002', 'orders.placed',
                   '{"orderId": "other-order", "totalAmount": 100, "currency": "usd", "occurredAt": {"$date": "2026-11-29T07:00:00.000Z"}}', now())
         )
         insert into outbox_deliveries (event_id, subscriber, status, attempts, next_attempt_at, created_at)
         values ('6f1c1f38-55f4-4a53-9b25-0c0ad0b1c002', 'test.where', 'pending', 0, now(), now())`,
      );
    // B claims what is due: the other row, not A's, which is still running in A.
    await waitFor(() => ran.includes('b other-order'), 'B to claim the row left for anyone');
    releaseA();
    const rows = await waitFor(async () => {
      const all = await deliveries(a, order.id);
      return all.length > 0 && all.every((row) => row.status === 'delivered') && all;
    }, "A's deliveries to be marked delivered");
    expect(rows.find((row) => row.subscriber === 'test.where')).toMatchObject({ attempts: 1 });
    expect(ran.filter((entry) => entry.endsWith(order.id))).toEqual([`a ${order.id}`]);
  });
});

describe('Transactional outbox: a subscriber that uses the database', () => {
  let t: TestApp;
  const seen: { orderId: string; status: string | undefined; inTransaction: boolean; em: object }[] = [];

  beforeAll(async () => {
    t = await createTestApp();
    t.app.get(OutboxRegistry).subscribe(OrderPlacedEvent, 'test.uses-database', async (event) => {
      // The service's EntityManager, as a subscriber injects it: it resolves to the delivery's own.
      const em = t.orm.em.getContext();
      const order = await em.findOne(Order, event.orderId);
      seen.push({ orderId: event.orderId, status: order?.status, inTransaction: em.isInTransaction(), em });
    });
  });
  afterAll(() => t.close());

  it('gets a unit of work of its own per delivery, outside the transaction that committed it', async () => {
    const orders = [await placeOrder(t), await placeOrder(t)];
    await waitFor(() => seen.length === 2, 'both deliveries');
    expect(seen.map(({ orderId, status, inTransaction }) => ({ orderId, status, inTransaction }))).toEqual(
      orders.map((order) => ({ orderId: order.id, status: 'pending', inTransaction: false })),
    );
    expect(seen[0].em).not.toBe(seen[1].em);
    expect(seen[0].em).not.toBe(t.orm.em);
  });
});

describe('Transactional outbox: a commit on an instance that is stopping', () => {
  let a: TestApp;
  let b: TestApp;
  /** Which instance ran which order's delivery to `test.handover`. */
  const ran: string[] = [];

  beforeAll(async () => {
    // Neither polls: B learns of A's deliveries by their NOTIFY alone.
    a = await createTestApp({ env: { OUTBOX_POLL_SECONDS: '3600' } });
    b = await createTestApp({ env: { OUTBOX_POLL_SECONDS: '3600' } });
    await truncateAll(a.orm);
    a.app.get(OutboxRegistry).subscribe(OrderPlacedEvent, 'test.handover', (event) => {
      ran.push(`a ${event.orderId}`);
    });
    b.app.get(OutboxRegistry).subscribe(OrderPlacedEvent, 'test.handover', (event) => {
      ran.push(`b ${event.orderId}`);
    });
  });
  afterAll(async () => {
    await a.close();
    await b.close();
  });

  it('leaves its deliveries unclaimed, and another instance relays them on their NOTIFY', async () => {
    // A has begun to shut down (SIGTERM) while a request of its still commits.
    await a.app.get(OutboxRelay).beforeApplicationShutdown();
    const order = await placeOrder(a);
    const rows = await waitFor(async () => {
      const all = await deliveries(a, order.id);
      return all.length > 0 && all.every((row) => row.status === 'delivered') && all;
    }, "the stopping instance's deliveries to be delivered elsewhere");
    expect(rows.map((row) => row.subscriber).sort()).toEqual(['staff.push-order-placed', 'test.handover']);
    expect(ran).toEqual([`b ${order.id}`]);
  });
});

describe('Transactional outbox: an instance with a backlog in hand', () => {
  let a: TestApp;
  let b: TestApp | undefined;
  /** Which instance ran which order's delivery to `test.backlog`. */
  const ran: string[] = [];
  let releaseA!: () => void;
  const heldInA = new Promise<void>((resolve) => (releaseA = resolve));

  beforeAll(async () => {
    // Neither polls: B learns of A's deliveries by their NOTIFY alone.
    a = await createTestApp({ env: { OUTBOX_POLL_SECONDS: '3600' } });
    b = await createTestApp({ env: { OUTBOX_POLL_SECONDS: '3600' } });
    await truncateAll(a.orm);
    // A's subscriber is stuck (a slow consumer): every delivery it takes stays in its hands.
    a.app.get(OutboxRegistry).subscribe(OrderPlacedEvent, 'test.backlog', async (event) => {
      ran.push(`a ${event.orderId}`);
      await heldInA;
    });
    b.app.get(OutboxRegistry).subscribe(OrderPlacedEvent, 'test.backlog', (event) => {
      ran.push(`b ${event.orderId}`);
    });
  });
  afterAll(async () => {
    releaseA();
    await a.close();
    await b?.close();
  });

  const backlogRows = async (orderId?: string) =>
    (await deliveries(a, orderId)).filter((row) => row.subscriber === 'test.backlog');

  // A thousand deliveries, then their marks: on a loaded machine (CI) more than a wait's default 10 s.
  const BACKLOG_WAIT_MS = 30_000;

  it(`holds at most ${MAX_IN_HAND}: past that, its commits are relayed by another instance, or by itself once it has room`, async () => {
    for (let i = 0; i < MAX_IN_HAND; i++) await placeOrder(a);
    await waitFor(() => ran.length === MAX_IN_HAND, 'A to hold the backlog', BACKLOG_WAIT_MS);
    expect(a.app.get(OutboxRelay).takesHandOver()).toBe(false);

    // A commit past the backlog: left unclaimed, and A, woken by its NOTIFY too, leaves it to B.
    const next = await placeOrder(a);
    const [row] = await waitFor(async () => {
      const rows = await backlogRows(next.id);
      return rows.length === 1 && rows[0].status === 'delivered' && rows;
    }, 'the delivery committed past the backlog to be relayed by B');
    expect(row.attempts).toBe(1);
    expect(ran.filter((entry) => !entry.startsWith('a ') || entry.endsWith(next.id))).toEqual([
      `b ${next.id}`,
    ]);

    // Alone now, A leaves a commit's deliveries unclaimed until its backlog drains, then relays them.
    await b?.close();
    b = undefined;
    const later = await placeOrder(a);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(ran).not.toContain(`a ${later.id}`);
    expect((await backlogRows(later.id))[0]).toMatchObject({ status: 'pending', attempts: 0 });
    releaseA();
    await waitFor(
      async () => {
        const rows = await backlogRows();
        return rows.length === MAX_IN_HAND + 2 && rows.every((one) => one.status === 'delivered');
      },
      "A's backlog, and what it left unclaimed, to be delivered",
      BACKLOG_WAIT_MS,
    );
    expect(ran.filter((entry) => entry.endsWith(later.id))).toEqual([`a ${later.id}`]);
    expect(a.app.get(OutboxRelay).takesHandOver()).toBe(true);
  }, 120_000);
});
