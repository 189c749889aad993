import { Client } from 'pg';
import { runBench, type BenchResult } from '../../bench/harness';
import { parseOptions } from '../../bench/options';

/**
 * Runs the harness on the test database with `env` over what every tiny run shares (no Redis, four
 * connections, quiet, results under test/artifacts), and connects to that database to check it.
 */
async function benchAtTinyScale(env: Record<string, string>): Promise<{ result: BenchResult; db: Client }> {
  const options = parseOptions(
    {
      BENCH_DATABASE_URL: process.env.DATABASE_URL,
      BENCH_REDIS_URL: '',
      BENCH_CONNECTIONS: '4',
      BENCH_RESULTS_DIR: 'test/artifacts/bench',
      BENCH_VERBOSE: '0',
      ...env,
    },
    [],
  );
  const result = await runBench(options);
  const db = new Client({ connectionString: process.env.DATABASE_URL });
  await db.connect();
  return { result, db };
}

/**
 * The benchmark harness at a tiny scale, so that it cannot silently measure nothing: what it reports
 * as applied must be in the database, found by queries of this test's own. Time is never asserted.
 */
describe('npm run bench (harness at tiny scale)', () => {
  let result: BenchResult;
  let db: Client;

  beforeAll(async () => {
    ({ result, db } = await benchAtTinyScale({
      BENCH_EVENTS: '50',
      BENCH_WARMUP: '0',
      BENCH_CLIENTS: '10',
      BENCH_PUSHES: '5',
      BENCH_PAIRS: '10',
      BENCH_STARTS: '1',
    }));
  }, 180_000);

  afterAll(async () => {
    await db?.end();
  });

  const count = async (sql: string, params: unknown[] = []) =>
    Number((await db.query<{ count: string }>(sql, params)).rows[0].count);

  it('reports no problem, and every scenario ran at the requested scale', () => {
    expect(result.problems).toEqual([]);
    expect(result.webhooks).toMatchObject({ sent: 50, outcomes: { applied: 50 } });
    expect(result.duplicates).toMatchObject({ sent: 50, outcomes: { applied: 25, duplicate: 25 } });
    expect(result.floor).toMatchObject({ sent: 50, outcomes: { applied: 50 } });
    expect(result.push).toMatchObject({
      clients: 10,
      oneAtATime: { webhooks: 5, lost: 0 },
      concurrent: { webhooks: 5, lost: 0 },
    });
    expect(result.customer).toMatchObject({ pairs: 10, errors: 0, checkoutsInDb: 10 });
    expect(result.customerFloor).toMatchObject({ pairs: 10, errors: 0, checkoutsInDb: 10 });
    expect(result.startup?.readyMs).toHaveLength(1);
    expect(result.memory?.peakMb).toBeGreaterThan(0);
  });

  it('every event it counted as applied paid its order once, with its ledger row and history row', async () => {
    const applied =
      result.webhooks!.outcomes.applied +
      result.duplicates!.outcomes.applied +
      result.floor!.outcomes.applied +
      result.push!.oneAtATime.webhooks +
      result.push!.concurrent.webhooks;
    expect(applied).toBe(50 + 25 + 50 + 5 + 5);
    const paidThroughLedger = await count(
      `select count(*) from processed_webhook_events e
         join orders o on o.id = e.order_id and o.status = 'paid'
         join payments p on p.order_id = o.id and p.status = 'succeeded'
       where e.outcome = 'applied'`,
    );
    expect(paidThroughLedger).toBe(applied);
    expect(await count(`select count(*) from orders where status = 'paid'`)).toBe(applied);
    expect(
      await count(
        `select count(*) from order_history h join processed_webhook_events e on e.id = h.source_ref
         where h.source_kind = 'webhook' and h.from_status = 'pending' and h.to_status = 'paid'`,
      ),
    ).toBe(applied);
    // The duplicates were delivered twice and applied once.
    expect(await count(`select count(*) from processed_webhook_events where deliveries = 2`)).toBe(25);
  });

  it('the customer path placed its orders through the API, each with a Checkout Session from the sandbox', async () => {
    for (const who of ['service', 'floor']) {
      expect(
        await count(
          `select count(*) from payments p join orders o on o.id = p.order_id
           where p.session_id like 'cs_test_%' and p.session_id not like 'cs_test_bench%' and p.status = 'open'
             and o.status = 'pending' and o.customer_email = $1`,
          [`bench+${who}@example.com`],
        ),
      ).toBe(10);
    }
  });

  it("the customer path's floor commits the rows the service commits, order for order", async () => {
    // What each order of one side holds: items, history, attempts, and its outbox rows by name and subscriber.
    const shape = async (who: string) =>
      (
        await db.query<{ shape: unknown }>(
          `select json_build_object(
             'items', (select json_agg(json_build_object('name', i.name, 'quantity', i.quantity,
                        'amount', i.unit_amount, 'position', i.position)) from order_items i where i.order_id = o.id),
             'history', (select json_agg(json_build_object('from', h.from_status, 'to', h.to_status,
                          'reason', h.reason, 'source', h.source_kind)) from order_history h where h.order_id = o.id),
             'attempts', (select json_agg(json_build_object('attempt', p.attempt, 'status', p.status,
                           'amount', p.amount, 'currency', p.currency, 'session', p.session_id is not null,
                           'url', p.url is not null, 'checks', p.checks,
                           'lifetime', round(extract(epoch from p.expires_at - p.created_at) / 60)))
                          from payments p where p.order_id = o.id),
             'outbox', (select json_agg(e.name || ' → ' || d.subscriber order by e.name, d.subscriber)
                        from outbox_events e join outbox_deliveries d on d.event_id = e.id
                        where e.payload->>'orderId' = o.id::text),
             'order', json_build_object('status', o.status, 'total', o.total_amount, 'currency', o.total_currency,
                        'review', o.needs_review, 'refunded', o.refunded_amount)) as shape
           from orders o where o.customer_email = $1`,
          [`bench+${who}@example.com`],
        )
      ).rows.map((row) => JSON.stringify(row.shape));
    const service = await shape('service');
    const floor = await shape('floor');
    expect(service).toHaveLength(10);
    expect(new Set(service).size).toBe(1);
    expect(floor).toEqual(service);
  });

  it("reports PostgreSQL's statements per request exactly where the server keeps their account", async () => {
    const { rows } = await db.query<{ loaded: boolean }>(
      `select coalesce(current_setting('shared_preload_libraries', true), '') like '%pg_stat_statements%' as loaded`,
    );
    if (!rows[0].loaded) {
      expect(result.webhooks?.statements).toBeUndefined();
      expect(result.customer?.statements).toBeUndefined();
      return;
    }
    // Each new event: at least the read with its claim and the write with its commit.
    const perEvent = result.webhooks!.statements!.reduce((sum, s) => sum + s.callsPerRequest, 0);
    expect(perEvent).toBeGreaterThanOrEqual(2);
    expect(result.webhooks!.statements!.some((s) => s.query.includes('processed_webhook_events'))).toBe(true);
    expect(result.customer!.statements!.some((s) => s.query.includes('insert into "orders"'))).toBe(true);
  });
});

/**
 * The instructions scenario at a tiny scale: the service and the floor each run under callgrind,
 * and what it counts are events that were applied (their orders paid in the database).
 */
describe('npm run bench, instructions per event (callgrind, tiny scale)', () => {
  let result: BenchResult;
  let db: Client;

  beforeAll(async () => {
    ({ result, db } = await benchAtTinyScale({
      BENCH_SCENARIOS: 'instructions',
      BENCH_WARMUP: '10',
      BENCH_INSTRUCTION_EVENTS: '20',
      BENCH_CLIENTS: '0',
    }));
  }, 900_000);

  afterAll(async () => {
    await db?.end();
  });

  it('counts each side over the events asked for, on the JavaScript thread and on all threads', () => {
    expect(result.problems).toEqual([]);
    for (const side of [result.instructions?.service, result.instructions?.floor]) {
      expect(side?.events).toBe(20);
      // A verified signature and a committed transaction take more than 50,000 instructions.
      expect(side!.mainThread).toBeGreaterThan(0.05);
      expect(side!.allThreads).toBeGreaterThanOrEqual(side!.mainThread);
    }
    expect(result.instructionRatioToFloor).toBe(
      Math.round((result.instructions!.floor!.mainThread / result.instructions!.service!.mainThread) * 100) /
        100,
    );
    // Only when asked for: none of the other scenarios ran.
    expect(result.webhooks).toBeUndefined();
    expect(result.floor).toBeUndefined();
  });

  it("the events it counted were applied: each side's orders are paid, warm-up included", async () => {
    for (const label of ['is', 'if']) {
      const { rows } = await db.query<{ status: string; count: string }>(
        `select o.status, count(*) from orders o join payments p on p.order_id = o.id
         where p.session_id like $1 group by o.status`,
        [`cs_test_bench${label}%`],
      );
      expect(rows.map((row) => [row.status, Number(row.count)])).toEqual([['paid', 30]]);
    }
  });
});
