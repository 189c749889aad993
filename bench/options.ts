/**
 * What a benchmark run does and at what scale: environment variables (`BENCH_EVENTS=2000`) or flags
 * (`--events=2000`), flags winning. The defaults are the full run the README's figures come from.
 */
export interface BenchOptions {
  /** PostgreSQL database the run owns: created if missing, its schema dropped and migrated anew. */
  databaseUrl: string;
  /** Redis for the Socket.IO adapter, as the service is deployed; empty: none. */
  redisUrl: string;
  /** Signed `checkout.session.completed` events for distinct orders (scenario 1 and its floor). */
  events: number;
  /** Events sent before each measured webhook run (service and floor alike), not counted. */
  warmup: number;
  /** Scenario 1 and the floor take turns in this many slices each. */
  rounds: number;
  /** Concurrent connections of the webhook and customer-path load. */
  connections: number;
  /** Socket.IO clients connected (one per order) during scenarios 1 and 3. */
  clients: number;
  /** Webhooks whose push is timed, at each concurrency (one at a time, then `connections` at a time). */
  pushes: number;
  /** Order + checkout pairs of the customer path. */
  pairs: number;
  /** Events whose instructions are counted under callgrind (scenario `instructions`), after the warm-up. */
  instructionEvents: number;
  /** Starts of the service timed to readiness (on an already migrated database). */
  starts: number;
  /** Longest a load phase may run before it stops sending (it then reports what it measured). */
  phaseTimeoutSeconds: number;
  /** NODE_OPTIONS for the service alone (e.g. `--max-old-space-size=192`); empty: none. */
  serviceNodeOptions: string;
  /** Write a CPU profile of the service (`node --cpu-prof`) under bench/results/profiles. */
  cpuProfile: boolean;
  /** Which scenarios to run. */
  scenarios: ReadonlySet<Scenario>;
  /** Where results, logs and profiles go. */
  resultsDir: string;
  /** Print progress lines. */
  verbose: boolean;
}

export const SCENARIOS = ['webhooks', 'floor', 'push', 'customer', 'startup', 'instructions'] as const;
export type Scenario = (typeof SCENARIOS)[number];

const DEFAULTS = {
  DATABASE_URL: 'postgresql://postgres@127.0.0.1:5432/bench',
  REDIS_URL: 'redis://127.0.0.1:6379',
  EVENTS: '20000',
  WARMUP: '1000',
  ROUNDS: '4',
  CONNECTIONS: '16',
  CLIENTS: '1000',
  /** Empty: half the clients. */
  PUSHES: '',
  PAIRS: '2000',
  INSTRUCTION_EVENTS: '1500',
  STARTS: '3',
  PHASE_TIMEOUT_SECONDS: '900',
  SERVICE_NODE_OPTIONS: '',
  CPU_PROFILE: '0',
  // `instructions` (under valgrind, minutes more) runs only when asked for.
  SCENARIOS: 'webhooks,floor,push,customer,startup',
  RESULTS_DIR: 'bench/results',
  VERBOSE: '1',
} as const;

type Key = keyof typeof DEFAULTS;

/** Reads `BENCH_<KEY>` from `env`, overridden by `--<key>=value` in `argv` (`--phase-timeout-seconds=60`). */
export function parseOptions(
  env: Record<string, string | undefined> = process.env,
  argv: readonly string[] = process.argv.slice(2),
): BenchOptions {
  const flags = new Map<string, string>();
  for (const arg of argv) {
    const match = /^--([a-z-]+)(?:=(.*))?$/.exec(arg);
    if (!match) throw new Error(`Unknown argument ${arg}: flags look like --events=2000`);
    flags.set(match[1].replace(/-/g, '_').toUpperCase(), match[2] ?? '1');
  }
  for (const name of flags.keys()) {
    if (!(name in DEFAULTS)) throw new Error(`Unknown flag --${name.toLowerCase().replace(/_/g, '-')}`);
  }
  const read = (key: Key): string => flags.get(key) ?? env[`BENCH_${key}`] ?? DEFAULTS[key];
  const count = (key: Key, min: number): number => {
    const value = Number(read(key));
    if (!Number.isInteger(value) || value < min) throw new Error(`BENCH_${key} must be an integer ≥ ${min}`);
    return value;
  };
  const scenarios = read('SCENARIOS')
    .split(',')
    .map((name) => name.trim())
    .filter(Boolean);
  for (const name of scenarios) {
    if (!(SCENARIOS as readonly string[]).includes(name)) {
      throw new Error(`Unknown scenario ${name}: one of ${SCENARIOS.join(', ')}`);
    }
  }
  const databaseUrl = read('DATABASE_URL');
  const database = new URL(databaseUrl).pathname.slice(1);
  // The run drops the database's schema: only a database made for it will do.
  if (!/bench|test/.test(database)) {
    throw new Error(
      `Refusing database "${database}": the benchmark wipes it, so its name must contain "bench"`,
    );
  }
  const clients = count('CLIENTS', 0);
  const pushes = read('PUSHES') === '' ? Math.floor(clients / 2) : count('PUSHES', 0);
  if (pushes > clients / 2) throw new Error('BENCH_PUSHES may be at most half of BENCH_CLIENTS');
  return {
    databaseUrl,
    redisUrl: read('REDIS_URL'),
    events: count('EVENTS', 2),
    warmup: count('WARMUP', 0),
    rounds: count('ROUNDS', 1),
    connections: count('CONNECTIONS', 1),
    clients,
    pushes,
    pairs: count('PAIRS', 0),
    instructionEvents: count('INSTRUCTION_EVENTS', 1),
    starts: count('STARTS', 0),
    phaseTimeoutSeconds: count('PHASE_TIMEOUT_SECONDS', 1),
    serviceNodeOptions: read('SERVICE_NODE_OPTIONS'),
    cpuProfile: read('CPU_PROFILE') === '1',
    scenarios: new Set(scenarios as Scenario[]),
    resultsDir: read('RESULTS_DIR'),
    verbose: read('VERBOSE') === '1',
  };
}
