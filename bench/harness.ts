import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { Pool as PgPool } from 'pg';
import type { Pool } from 'undici';
import {
  countCheckouts,
  refreshDatabase,
  type SeededOrder,
  seedOrders,
  type Verification,
  verifyPaid,
} from './database';
import { BENCH_WEBHOOK_SECRET, completedEvents, sign, type WebhookEvent } from './events';
import {
  callgrindControl,
  callgrindMissing,
  firstDump,
  type InstructionCount,
  underCallgrind,
} from './instructions';
import { httpPool, latency, type Latency, type Phase, round, runPhase } from './load';
import type { BenchOptions } from './options';
import {
  cpuSecondsOf,
  freePort,
  memoryOf,
  postgresCpuSecondsOf,
  postgresCpuSince,
  ROOT,
  type Started,
  startProcess,
} from './processes';
import { Followers } from './sockets';
import {
  addStatements,
  perRequest,
  type StatementCost,
  type StatementShare,
  StatementStats,
  statementsBetween,
} from './statements';

/** The offline sandbox's key: the service's Stripe adapter talks to the sandbox process with it. */
const SANDBOX_KEY = 'sk_test_sandbox_51OfflineOrderFlow';
const WEBHOOK_PATH = '/api/webhooks/stripe';

export interface WebhookRun {
  /** Requests sent (new events and duplicates). */
  sent: number;
  perSecond: number;
  latency: Latency;
  /** How many answers said what (`applied`, `duplicate`, `http 500`, …). */
  outcomes: Record<string, number>;
  /** What the database holds afterwards for these events. */
  verified: Verification;
  cutShort: boolean;
  /** CPU the server process used per request, in ms (PostgreSQL's not included). */
  cpuMsPerEvent?: number;
  /** CPU the bench database's PostgreSQL backends used per request meanwhile, in ms. */
  postgresCpuMsPerEvent?: number;
  /** PostgreSQL's account of the statements per request (where it keeps one: `statements.ts`). */
  statements?: StatementShare[];
}

export interface MixedRun extends WebhookRun {
  newLatency: Latency;
  duplicateLatency: Latency;
}

export interface PushRun {
  webhooks: number;
  concurrency: number;
  latency: Latency;
  /** Pushes that did not arrive within 10 s. */
  lost: number;
  /** CPU the service used per webhook and its push, in ms. */
  cpuMsPerEvent?: number;
}

export interface BenchResult {
  startedAt: string;
  machine: { cpus: number; model: string; node: string; loadAverage: number[] };
  options: Omit<BenchOptions, 'scenarios'> & { scenarios: string[] };
  startup?: { firstStartMs: number; readyMs: number[]; medianMs: number };
  webhooks?: WebhookRun;
  duplicates?: MixedRun;
  floor?: WebhookRun;
  /** Service events per second over the floor's, same run. */
  ratioToFloor?: number;
  /** The floor's CPU per event over the service's: the same ratio, hardly moved by others' load. */
  cpuRatioToFloor?: number;
  memory?: { beforeMb: number; peakMb: number; clients: number };
  push?: { clients: number; oneAtATime: PushRun; concurrent: PushRun };
  customer?: {
    pairs: number;
    perSecond: number;
    latency: Latency;
    errors: number;
    checkoutsInDb: number;
    cutShort: boolean;
    /**
     * CPU per pair, in ms, of each process on the path: the service, the sandbox (its own process)
     * and the PostgreSQL backends of the bench database; and transactions committed per pair.
     */
    cpuMsPerPair?: { service: number; sandbox: number; postgres: number };
    transactionsPerPair?: number;
    /** PostgreSQL's account of the statements per pair, the sandbox's included (`statements.ts`). */
    statements?: StatementShare[];
  };
  /** The customer path's floor (`cpuMsPerPair.service` is the floor process's), same run. */
  customerFloor?: BenchResult['customer'];
  /** Service pairs per second over the floor's, same run. */
  customerRatioToFloor?: number;
  /** Instructions per new webhook event under callgrind (scenario `instructions`): the service's and the floor's. */
  instructions?: { service?: InstructionCount; floor?: InstructionCount };
  /** The floor's instructions per event on its JavaScript thread over the service's. */
  instructionRatioToFloor?: number;
  /** Problems that make the figures untrustworthy (errors, rows missing); empty when all is well. */
  problems: string[];
}

type Log = (line: string) => void;

/**
 * One benchmark run: builds the service if needed, empties the database, times start-ups, seeds
 * orders with open checkout attempts, then runs each scenario against `node dist/main.js` (and the
 * floor, and the sandbox as its own process), checking in the database that what was reported
 * applied was applied. Every child process is stopped before it returns or throws.
 */
export async function runBench(options: BenchOptions, log: Log = () => undefined): Promise<BenchResult> {
  const want = (name: Parameters<typeof options.scenarios.has>[0]) => options.scenarios.has(name);
  const result: BenchResult = {
    startedAt: new Date().toISOString(),
    machine: {
      cpus: cpus().length,
      model: cpus()[0]?.model ?? '?',
      node: process.version,
      loadAverage: loadavg().map((l) => round(l, 2)),
    },
    options: { ...options, scenarios: [...options.scenarios] },
    problems: [],
  };
  const logs = join(ROOT, options.resultsDir, 'logs');
  const stamp = result.startedAt.replace(/[:.]/g, '-');
  ensureBuilt(log);
  await refreshDatabase(options.databaseUrl);

  const servicePort = await freePort();
  const sandboxPort = await freePort();
  const serviceEnv: Record<string, string> = {
    NODE_ENV: 'production',
    PORT: String(servicePort),
    DATABASE_URL: options.databaseUrl,
    STRIPE_SECRET_KEY: SANDBOX_KEY,
    STRIPE_WEBHOOK_SECRET: BENCH_WEBHOOK_SECRET,
    STRIPE_API_HOST: '127.0.0.1',
    STRIPE_API_PORT: String(sandboxPort),
    STRIPE_API_PROTOCOL: 'http',
    RATE_LIMIT_PER_MINUTE: '0',
    // Every bench client connects from 127.0.0.1: the per-address socket cap must admit them all.
    SOCKET_MAX_CONNECTIONS_PER_IP: String(Math.max(20, options.clients + 10)),
    RECONCILE_INTERVAL_SECONDS: '0',
    LOG_LEVEL: 'info',
    REDIS_URL: options.redisUrl,
    NODE_OPTIONS: options.serviceNodeOptions,
  };
  const startService = (extraArgs: string[] = [], wrapper?: string[], port = servicePort) =>
    startProcess({
      args: [...extraArgs, join(ROOT, 'dist', 'main.js')],
      wrapper,
      env: { ...serviceEnv, PORT: String(port) },
      port,
      readyPath: '/api/health/ready',
      logFile: join(logs, `service-${stamp}.log`),
      // Under valgrind, start-up takes a minute or more.
      timeoutMs: wrapper ? 600_000 : undefined,
    });
  const startFloor = async (wrapper?: string[]) => {
    const floorPort = await freePort();
    return startProcess({
      args: [require.resolve('ts-node/dist/bin.js'), '--swc', join(ROOT, 'bench', 'floor.ts')],
      wrapper,
      env: {
        FLOOR_PORT: String(floorPort),
        DATABASE_URL: options.databaseUrl,
        STRIPE_WEBHOOK_SECRET: BENCH_WEBHOOK_SECRET,
        FLOOR_POOL_SIZE: '10',
        // The customer path's floor calls the same sandbox as the service.
        STRIPE_SECRET_KEY: SANDBOX_KEY,
        STRIPE_API_PORT: String(sandboxPort),
      },
      port: floorPort,
      readyPath: '/ready',
      logFile: join(logs, `floor-${stamp}.log`),
      timeoutMs: wrapper ? 600_000 : undefined,
    });
  };
  const instructionsMissing = want('instructions') ? callgrindMissing() : undefined;
  /** What the instruction runs answered and left in the database, checked as the timed runs are. */
  const instructionRuns: [string, CheckedRun][] = [];
  if (instructionsMissing) throw new Error(instructionsMissing);

  // Start-up: the first start migrates the empty database; the timed ones find it migrated.
  log('service: first start (migrations)');
  const first = await startService();
  await first.stop();
  if (want('startup') && options.starts > 0) {
    const readyMs: number[] = [];
    for (let i = 0; i < options.starts; i++) {
      const started = await startService();
      readyMs.push(round(started.readyMs, 0));
      await started.stop();
    }
    const sorted = [...readyMs].sort((a, b) => a - b);
    result.startup = {
      firstStartMs: round(first.readyMs, 0),
      readyMs,
      medianMs: sorted[Math.floor(sorted.length / 2)],
    };
    log(`startup: ready in ${readyMs.join(', ')} ms`);
  }

  const db = new PgPool({ connectionString: options.databaseUrl, max: 4 });
  const children: Started[] = [];
  let followers: Followers | undefined;
  try {
    const half = Math.ceil(options.events / 2);
    log('seeding orders');
    const webhookOrders = want('webhooks') ? await seedOrders(db, options.warmup + options.events, 'w') : [];
    const mixedOrders = want('webhooks') ? await seedOrders(db, half, 'm') : [];
    // The floor takes turns with the scenarios it is the floor of: the webhooks, the customer path.
    const floorOrders =
      want('floor') && want('webhooks') ? await seedOrders(db, options.warmup + options.events, 'f') : [];
    const followedOrders =
      options.clients > 0 && (want('push') || want('webhooks'))
        ? await seedOrders(db, options.clients, 'p')
        : [];
    const instructionOrders = want('instructions')
      ? {
          service: await seedOrders(db, options.warmup + options.instructionEvents, 'is'),
          floor: await seedOrders(db, options.warmup + options.instructionEvents, 'if'),
        }
      : undefined;
    await db.query('analyze');
    const statements = await StatementStats.open(db);
    if (statements) log('pg_stat_statements: statements per request are reported');

    let floorHttp: Pool | undefined;
    let floorPid = 0;
    if (want('floor')) {
      const floor = await startFloor();
      children.push(floor);
      floorHttp = httpPool(floor.url, options.connections);
      floorPid = floor.pid;
    }

    // BENCH_CPU_PROFILE=1 profiles the service and the sandbox process (service-…, sandbox-….cpuprofile).
    const profileArgs = (name: 'service' | 'sandbox') =>
      options.cpuProfile
        ? [
            '--cpu-prof',
            `--cpu-prof-dir=${join(ROOT, options.resultsDir, 'profiles')}`,
            `--cpu-prof-name=${name}-${stamp}.cpuprofile`,
            // Nest re-raises SIGTERM once it has shut down; exiting normally instead writes the profile.
            '--import',
            'data:text/javascript,let n=0;process.on("SIGTERM",()=>{if(++n>1)process.exit(0)})',
          ]
        : [];
    let sandboxPid = 0;
    if (want('customer')) {
      const sandbox = await startProcess({
        args: [...profileArgs('sandbox'), join(ROOT, 'dist', 'sandbox', 'main.js')],
        env: {
          SANDBOX_PORT: String(sandboxPort),
          // Its objects are stored in the same database (schema sandbox), written through as it answers.
          DATABASE_URL: options.databaseUrl,
          STRIPE_WEBHOOK_SECRET: BENCH_WEBHOOK_SECRET,
          SANDBOX_WEBHOOK_URL: `http://127.0.0.1:${servicePort}${WEBHOOK_PATH}`,
          LOG_LEVEL: 'warn',
        },
        port: sandboxPort,
        readyPath: '/_sandbox/events',
        logFile: join(logs, `sandbox-${stamp}.log`),
      });
      children.push(sandbox);
      sandboxPid = sandbox.pid;
    }

    const service = await startService(profileArgs('service'));
    children.push(service);
    const http = httpPool(service.url, options.connections);
    try {
      if (followedOrders.length) {
        log(`connecting ${followedOrders.length} Socket.IO clients`);
        followers = await Followers.connect(service.url, followedOrders);
      }

      // Scenario 1 and its floor, in interleaved rounds: a shared machine's load drifts, and both
      // sides of the ratio should see the same drift.
      const targets: Target[] = [];
      if (floorHttp && floorOrders.length) {
        targets.push({ name: 'floor', pid: floorPid, http: floorHttp, events: completedEvents(floorOrders) });
      }
      if (want('webhooks')) {
        targets.push({ name: 'service', pid: service.pid, http, events: completedEvents(webhookOrders) });
      }
      for (const target of targets) {
        log(`${target.name}: warm-up`);
        await webhookPhase(
          target.http,
          target.events.slice(0, options.warmup),
          options.phaseTimeoutSeconds,
          options,
        );
        target.events = target.events.slice(options.warmup);
      }
      const before = memoryOf(service.pid);
      const measured = await interleaved(db, targets, options, log, statements);
      const after = memoryOf(service.pid);
      result.floor = measured.get('floor');
      result.webhooks = measured.get('service');
      if (result.webhooks && before && after) {
        result.memory = { beforeMb: before.rssMb, peakMb: after.peakMb, clients: followers?.size ?? 0 };
      }
      if (result.floor && result.webhooks) {
        result.ratioToFloor = round(result.webhooks.perSecond / result.floor.perSecond, 2);
        const [floorCpu, serviceCpu] = [result.floor.cpuMsPerEvent, result.webhooks.cpuMsPerEvent];
        if (floorCpu && serviceCpu) result.cpuRatioToFloor = round(floorCpu / serviceCpu, 2);
      }
      if (want('webhooks')) {
        log('webhooks: half duplicates');
        result.duplicates = await mixedRun(db, http, service.pid, completedEvents(mixedOrders), options);
        log(`duplicates: ${result.duplicates.perSecond}/s`);
      }

      if (want('push') && followers && options.pushes > 0) {
        const events = completedEvents(followedOrders);
        log('push: one at a time');
        const oneAtATime = await pushRun(
          http,
          service.pid,
          followers,
          events.slice(0, options.pushes),
          1,
          options,
        );
        log('push: concurrent');
        const concurrent = await pushRun(
          http,
          service.pid,
          followers,
          events.slice(options.pushes, 2 * options.pushes),
          options.connections,
          options,
        );
        result.push = { clients: followers.size, oneAtATime, concurrent };
        for (const run of [oneAtATime, concurrent]) {
          if (run.lost) result.problems.push(`push: ${run.lost} pushes did not arrive`);
        }
      }

      if (want('customer') && options.pairs > 0) {
        log(floorHttp ? 'customer path, service and floor taking turns' : 'customer path');
        const runs = await customerRuns(
          db,
          [
            { name: 'service', http, pid: service.pid },
            ...(floorHttp ? [{ name: 'floor' as const, http: floorHttp, pid: floorPid }] : []),
          ],
          options,
          sandboxPid,
          statements,
        );
        result.customer = runs.get('service');
        result.customerFloor = runs.get('floor');
        if (result.customer && result.customerFloor) {
          result.customerRatioToFloor = round(result.customer.perSecond / result.customerFloor.perSecond, 2);
        }
      }
    } finally {
      followers?.close();
      await http.close();
      await floorHttp?.close();
    }

    if (instructionOrders) {
      // Alone on the machine: the service and the floor of the other scenarios stop first.
      for (const child of children.splice(0).reverse()) await child.stop();
      const profiles = join(ROOT, options.resultsDir, 'callgrind');
      mkdirSync(profiles, { recursive: true });
      result.instructions = {};
      for (const name of ['service', 'floor'] as const) {
        log(`${name}: instructions per event, under callgrind (minutes)`);
        const outPrefix = join(profiles, `${name}-${stamp}`);
        const wrapper = underCallgrind(outPrefix);
        const started =
          name === 'service' ? await startService([], wrapper, await freePort()) : await startFloor(wrapper);
        children.push(started);
        const target = httpPool(started.url, options.connections);
        try {
          const counted = await countInstructions(
            db,
            target,
            started.pid,
            outPrefix,
            completedEvents(instructionOrders[name]),
            options,
          );
          result.instructions[name] = counted.count;
          instructionRuns.push([`instructions, ${name}`, counted.run]);
        } finally {
          await target.close();
          await started.stop();
          children.pop();
        }
      }
      const { service, floor } = result.instructions;
      if (service && floor) result.instructionRatioToFloor = round(floor.mainThread / service.mainThread, 2);
    }
  } finally {
    for (const child of children.reverse()) await child.stop();
    await db.end();
  }

  const checked: [string, CheckedRun | undefined][] = [
    ['webhooks', result.webhooks],
    ['duplicates', result.duplicates],
    ['floor', result.floor],
    ...instructionRuns,
  ];
  for (const [name, run] of checked) {
    if (!run) continue;
    const unexpected = Object.entries(run.outcomes).filter(
      ([outcome]) => outcome !== 'applied' && outcome !== 'duplicate',
    );
    if (unexpected.length)
      result.problems.push(`${name}: unexpected answers ${JSON.stringify(Object.fromEntries(unexpected))}`);
    const applied = run.outcomes.applied ?? 0;
    const v = run.verified;
    if (
      [v.paidOrders, v.succeededAttempts, v.paidHistoryRows, v.appliedLedgerRows].some((n) => n !== applied)
    ) {
      result.problems.push(
        `${name}: ${applied} answered applied, but the database holds ${JSON.stringify(v)}`,
      );
    }
    if (run.cutShort) result.problems.push(`${name}: stopped by the phase time limit`);
  }
  for (const [name, c] of [
    ['customer', result.customer],
    ['customer floor', result.customerFloor],
  ] as const) {
    if (!c) continue;
    if (c.errors) result.problems.push(`${name}: ${c.errors} pairs failed`);
    if (c.checkoutsInDb !== c.pairs - c.errors)
      result.problems.push(
        `${name}: ${c.checkoutsInDb} checkouts in the database for ${c.pairs - c.errors} answered`,
      );
    if (c.cutShort) result.problems.push(`${name}: stopped by the phase time limit`);
  }
  return result;
}

interface Delivery {
  ms: number;
  outcome: string;
}

/** What a webhook run is checked on: its answers, the database's account of them, the time limit. */
type CheckedRun = Pick<WebhookRun, 'outcomes' | 'verified' | 'cutShort'>;

/**
 * Sends the warm-up, then counts the instructions of `events` (after the warm-up's) in the process
 * `pid` running under callgrind: counting is switched on and zeroed just before them and dumped a
 * moment after the last answer (so that the work after each commit, the pushes, is counted). With
 * what the counted events answered and did in the database, checked as every webhook run is.
 */
async function countInstructions(
  db: PgPool,
  http: Pool,
  pid: number,
  outPrefix: string,
  events: readonly WebhookEvent[],
  options: BenchOptions,
): Promise<{ count: InstructionCount; run: CheckedRun }> {
  await webhookPhase(http, events.slice(0, options.warmup), options.phaseTimeoutSeconds, options);
  await sleep(2000);
  callgrindControl(pid, '-i', 'on');
  callgrindControl(pid, '-z');
  const measured = events.slice(options.warmup);
  const phase = await webhookPhase(http, measured, options.phaseTimeoutSeconds, options);
  await sleep(2000);
  callgrindControl(pid, '-d');
  callgrindControl(pid, '-i', 'off');
  const { mainThread, allThreads } = firstDump(outPrefix, pid);
  const millionsPer = (instructions: number) => round(instructions / phase.completed / 1e6, 3);
  return {
    count: {
      events: phase.completed,
      mainThread: millionsPer(mainThread),
      allThreads: millionsPer(allThreads),
    },
    run: await checkedRun(db, phase, measured),
  };
}

/** A phase of webhooks as it is checked: its answers, what the database holds for its events, its time limit. */
async function checkedRun(
  db: PgPool,
  phase: Phase<Delivery>,
  events: readonly WebhookEvent[],
): Promise<CheckedRun> {
  return {
    outcomes: tally(phase.results),
    verified: await verifyEvents(db, events),
    cutShort: phase.cutShort,
  };
}

/** What the database holds for `events` (`verifyPaid`). */
function verifyEvents(db: PgPool, events: readonly WebhookEvent[]): Promise<Verification> {
  return verifyPaid(
    db,
    events.map((e) => e.id),
    events.map((e) => e.orderId),
  );
}

async function deliver(http: Pool, event: WebhookEvent): Promise<Delivery> {
  const started = performance.now();
  const response = await http.request({
    path: WEBHOOK_PATH,
    method: 'POST',
    headers: { 'content-type': 'application/json', 'stripe-signature': sign(event.body) },
    body: event.body,
  });
  const text = await response.body.text();
  const ms = performance.now() - started;
  if (response.statusCode !== 200) return { ms, outcome: `http ${response.statusCode}` };
  return { ms, outcome: (JSON.parse(text) as { outcome: string }).outcome };
}

function webhookPhase(
  http: Pool,
  events: readonly WebhookEvent[],
  timeoutSeconds: number,
  options: BenchOptions,
) {
  return runPhase(events.length, options.connections, timeoutSeconds, (i) => deliver(http, events[i]));
}

function tally(deliveries: readonly (Delivery | undefined)[]): Record<string, number> {
  const outcomes: Record<string, number> = {};
  for (const d of deliveries) if (d) outcomes[d.outcome] = (outcomes[d.outcome] ?? 0) + 1;
  return outcomes;
}

interface Target {
  name: 'floor' | 'service';
  pid: number;
  http: Pool;
  events: readonly WebhookEvent[];
}

/** Each target's events in `options.rounds` slices, taking turns; one result per target. */
async function interleaved(
  db: PgPool,
  targets: readonly Target[],
  options: BenchOptions,
  log: Log,
  statements?: StatementStats,
): Promise<Map<Target['name'], WebhookRun>> {
  const runs = new Map<
    Target['name'],
    {
      deliveries: (Delivery | undefined)[];
      seconds: number;
      completed: number;
      cutShort: boolean;
      cpu: number;
      postgresCpu: number;
      statements: Map<string, StatementCost>;
    }
  >();
  const database = new URL(options.databaseUrl).pathname.slice(1);
  for (const target of targets)
    runs.set(target.name, {
      deliveries: [],
      seconds: 0,
      completed: 0,
      cutShort: false,
      cpu: 0,
      postgresCpu: 0,
      statements: new Map(),
    });
  for (let turn = 0; turn < options.rounds; turn++) {
    for (const target of targets) {
      const size = Math.ceil(target.events.length / options.rounds);
      const slice = target.events.slice(turn * size, (turn + 1) * size);
      const cpuBefore = cpuSecondsOf(target.pid) ?? NaN;
      const postgresBefore = postgresCpuSecondsOf(database);
      const statementsBefore = await statements?.snapshot();
      const phase = await webhookPhase(
        target.http,
        slice,
        options.phaseTimeoutSeconds / options.rounds,
        options,
      );
      const run = runs.get(target.name)!;
      if (statements && statementsBefore)
        addStatements(run.statements, statementsBetween(statementsBefore, await statements.snapshot()));
      run.deliveries.push(...phase.results);
      run.seconds += phase.seconds;
      run.completed += phase.completed;
      run.cutShort ||= phase.cutShort;
      run.cpu += (cpuSecondsOf(target.pid) ?? NaN) - cpuBefore;
      run.postgresCpu += postgresCpuSince(database, postgresBefore);
      log(
        `${target.name}: round ${turn + 1}/${options.rounds}, ${round(phase.completed / phase.seconds, 0)}/s`,
      );
    }
  }
  const results = new Map<Target['name'], WebhookRun>();
  for (const target of targets) {
    const run = runs.get(target.name)!;
    const done = run.deliveries.filter((d): d is Delivery => d !== undefined);
    results.set(target.name, {
      sent: run.completed,
      perSecond: round(run.completed / run.seconds, 0),
      latency: latency(done.map((d) => d.ms)),
      outcomes: tally(run.deliveries),
      verified: await verifyEvents(db, target.events),
      cutShort: run.cutShort,
      cpuMsPerEvent: Number.isNaN(run.cpu) ? undefined : round((1000 * run.cpu) / run.completed, 2),
      postgresCpuMsPerEvent: round((1000 * run.postgresCpu) / run.completed, 2),
      statements: statements ? perRequest(run.statements.values(), run.completed) : undefined,
    });
  }
  return results;
}

/**
 * Half duplicates: each block of new events is followed by the same events again (same id and body,
 * signed anew, as Stripe redelivers), so that a duplicate mostly arrives once its original is done.
 */
async function mixedRun(
  db: PgPool,
  http: Pool,
  pid: number,
  events: readonly WebhookEvent[],
  options: BenchOptions,
): Promise<MixedRun> {
  const block = Math.max(1, options.connections * 4);
  const sequence: { event: WebhookEvent; duplicate: boolean }[] = [];
  for (let start = 0; start < events.length; start += block) {
    const slice = events.slice(start, start + block);
    sequence.push(...slice.map((event) => ({ event, duplicate: false })));
    sequence.push(...slice.map((event) => ({ event, duplicate: true })));
  }
  const cpuBefore = cpuSecondsOf(pid) ?? NaN;
  const phase = await runPhase(sequence.length, options.connections, options.phaseTimeoutSeconds, (i) =>
    deliver(http, sequence[i].event),
  );
  const of = (duplicate: boolean) =>
    phase.results
      .filter((d, i): d is Delivery => d !== undefined && sequence[i].duplicate === duplicate)
      .map((d) => d.ms);
  return {
    sent: phase.completed,
    perSecond: round(phase.completed / phase.seconds, 0),
    latency: latency([...of(false), ...of(true)]),
    newLatency: latency(of(false)),
    duplicateLatency: latency(of(true)),
    ...(await checkedRun(db, phase, events)),
    cpuMsPerEvent: round((1000 * ((cpuSecondsOf(pid) ?? NaN) - cpuBefore)) / phase.completed, 2),
  };
}

/** From each webhook's POST to its order's `paid` push at the client following that order. */
async function pushRun(
  http: Pool,
  pid: number,
  followers: Followers,
  events: readonly WebhookEvent[],
  concurrency: number,
  options: BenchOptions,
): Promise<PushRun> {
  const cpuBefore = cpuSecondsOf(pid) ?? NaN;
  const phase = await runPhase(events.length, concurrency, options.phaseTimeoutSeconds, async (i) => {
    const event = events[i];
    const started = performance.now();
    const [delivery, arrived] = await Promise.all([deliver(http, event), followers.paid(event.orderId)]);
    if (delivery.outcome !== 'applied') throw new Error(`push: webhook answered ${delivery.outcome}`);
    return arrived === null ? null : arrived - started;
  });
  const times = phase.results.filter((ms): ms is number => typeof ms === 'number');
  return {
    webhooks: phase.completed,
    concurrency,
    latency: latency(times),
    lost: phase.completed - times.length,
    cpuMsPerEvent: round((1000 * ((cpuSecondsOf(pid) ?? NaN) - cpuBefore)) / phase.completed, 2),
  };
}

/** Who answers the customer path: the service, or the floor (`bench/floor-customer.ts`). */
interface CustomerTarget {
  name: 'service' | 'floor';
  http: Pool;
  pid: number;
}

type CustomerRun = NonNullable<BenchResult['customer']>;

/**
 * `POST /api/orders` then `POST /api/orders/:id/checkout`, the sandbox answering as Stripe: each
 * target warmed up, then the targets taking turns in `options.rounds` slices (a shared machine's
 * load drifts, and both sides of the ratio should see the same drift).
 */
async function customerRuns(
  db: PgPool,
  targets: readonly CustomerTarget[],
  options: BenchOptions,
  sandboxPid: number,
  statements?: StatementStats,
): Promise<Map<CustomerTarget['name'], CustomerRun>> {
  const catalog = (await (
    await targets[0].http.request({ path: '/api/products', method: 'GET' })
  ).body.json()) as {
    id: string;
    currency: string;
  }[];
  const product = catalog.find((p) => p.currency === 'usd') ?? catalog[0];
  // Each target's orders are told apart by their e-mail address.
  const pairOf = (target: CustomerTarget) => {
    const orderBody = JSON.stringify({
      customerEmail: `bench+${target.name}@example.com`,
      items: [{ productId: product.id, quantity: 2 }],
    });
    return () => pair(target.http, orderBody);
  };
  const pair = async (http: Pool, orderBody: string): Promise<{ ms: number; orderId: string | null }> => {
    const started = performance.now();
    const placed = await http.request({
      path: '/api/orders',
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: orderBody,
    });
    const order = (await placed.body.json()) as { id: string; accessToken: string };
    if (placed.statusCode !== 201) return { ms: performance.now() - started, orderId: null };
    const checkout = await http.request({
      path: `/api/orders/${order.id}/checkout`,
      method: 'POST',
      headers: { authorization: `Bearer ${order.accessToken}` },
    });
    await checkout.body.text();
    return { ms: performance.now() - started, orderId: checkout.statusCode === 201 ? order.id : null };
  };
  for (const target of targets) {
    await runPhase(
      Math.ceil(options.warmup / 10),
      options.connections,
      options.phaseTimeoutSeconds,
      pairOf(target),
    );
  }
  const database = new URL(options.databaseUrl).pathname.slice(1);
  const commits = async () =>
    Number(
      (
        await db.query<{ n: string }>(
          'select xact_commit as n from pg_stat_database where datname = current_database()',
        )
      ).rows[0]?.n ?? NaN,
    );
  // PostgreSQL publishes a backend's counters within a second or so of its last transaction.
  const settle = () => sleep(1500);
  const totals = new Map(
    targets.map((target) => [
      target.name,
      {
        done: [] as { ms: number; orderId: string | null }[],
        seconds: 0,
        completed: 0,
        cutShort: false,
        cpu: { service: 0, sandbox: 0, postgres: 0 },
        commits: 0,
        statements: new Map<string, StatementCost>(),
      },
    ]),
  );
  await settle();
  let commitsBefore = await commits();
  const size = Math.ceil(options.pairs / options.rounds);
  for (let turn = 0; turn < options.rounds; turn++) {
    for (const target of targets) {
      const total = totals.get(target.name)!;
      const before = {
        service: cpuSecondsOf(target.pid) ?? NaN,
        sandbox: cpuSecondsOf(sandboxPid) ?? NaN,
        postgres: postgresCpuSecondsOf(database),
      };
      const statementsBefore = await statements?.snapshot();
      const phase = await runPhase(
        Math.min(size, options.pairs - turn * size),
        options.connections,
        options.phaseTimeoutSeconds / options.rounds,
        pairOf(target),
      );
      total.cpu.service += (cpuSecondsOf(target.pid) ?? NaN) - before.service;
      total.cpu.sandbox += (cpuSecondsOf(sandboxPid) ?? NaN) - before.sandbox;
      total.cpu.postgres += postgresCpuSince(database, before.postgres);
      if (statements && statementsBefore)
        addStatements(total.statements, statementsBetween(statementsBefore, await statements.snapshot()));
      total.done.push(
        ...phase.results.filter((p): p is { ms: number; orderId: string | null } => p !== undefined),
      );
      total.seconds += phase.seconds;
      total.completed += phase.completed;
      total.cutShort ||= phase.cutShort;
      await settle();
      const commitsAfter = await commits();
      // Less the statement of this read itself.
      total.commits += commitsAfter - commitsBefore - 1;
      commitsBefore = commitsAfter;
    }
  }
  const runs = new Map<CustomerTarget['name'], CustomerRun>();
  for (const [name, total] of totals) {
    const perPair = (seconds: number) => round((seconds * 1000) / Math.max(1, total.completed), 2);
    const ok = total.done.filter((p) => p.orderId !== null);
    runs.set(name, {
      pairs: total.completed,
      perSecond: round(total.completed / total.seconds, 0),
      latency: latency(total.done.map((p) => p.ms)),
      errors: total.done.length - ok.length,
      checkoutsInDb: await countCheckouts(
        db,
        ok.map((p) => p.orderId!),
      ),
      cutShort: total.cutShort,
      cpuMsPerPair: {
        service: perPair(total.cpu.service),
        sandbox: perPair(total.cpu.sandbox),
        postgres: perPair(total.cpu.postgres),
      },
      transactionsPerPair: round(total.commits / Math.max(1, total.completed), 1),
      statements: statements ? perRequest(total.statements.values(), total.completed) : undefined,
    });
  }
  return runs;
}

/** Builds the service (`nest build`) unless dist/ is newer than every file under src/. */
function ensureBuilt(log: Log): void {
  const main = join(ROOT, 'dist', 'main.js');
  const built = existsSync(main) ? statSync(main).mtimeMs : 0;
  const newest = (dir: string): number =>
    readdirSync(dir, { withFileTypes: true }).reduce((latest, entry) => {
      const path = join(dir, entry.name);
      return Math.max(latest, entry.isDirectory() ? newest(path) : statSync(path).mtimeMs);
    }, 0);
  if (built > newest(join(ROOT, 'src'))) return;
  log('building (nest build)');
  const build = spawnSync(process.execPath, [require.resolve('@nestjs/cli/bin/nest.js'), 'build'], {
    cwd: ROOT,
    stdio: 'inherit',
  });
  if (build.status !== 0) throw new Error('nest build failed');
}

export type { SeededOrder };
