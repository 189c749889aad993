import { Client } from 'pg';
import { runBench, type BenchResult } from '../../bench/harness';
import { parseOptions } from '../../bench/options';

/**
 * The benchmark harness at a tiny scale, so that it cannot silently measure nothing: what it reports
 * as applied must be in the database, found by queries of this test's own. Time is never asserted.
 */
describe('npm run bench (harness at tiny scale)', () => {
  let result: BenchResult;
  let db: Client;

  beforeAll(async () => {
    const options = parseOptions(
      {
        BENCH_DATABASE_URL: process.env.DATABASE_URL,
        BENCH_REDIS_URL: '',
        BENCH_EVENTS: '50',
        BENCH_WARMUP: '0',
        BENCH_CONNECTIONS: '4',
        BENCH_CLIENTS: '10',
        BENCH_PUSHES: '5',
        BENCH_PAIRS: '10',
        BENCH_STARTS: '1',
        BENCH_RESULTS_DIR: 'test/artifacts/bench',
        BENCH_VERBOSE: '0',
      },
      [],
    );
    result = await runBench(options);
    db = new Client({ connectionString: process.env.DATABASE_URL });
    await db.connect();
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
    expect(result.customer).toMatchObject({ pairs: 10, errors: 0 });
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
    expect(
      await count(
        `select count(*) from payments p join orders o on o.id = p.order_id
         where p.session_id like 'cs_test_%' and p.session_id not like 'cs_test_bench%' and o.status = 'pending'`,
      ),
    ).toBe(10);
  });
});
