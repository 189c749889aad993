import { z } from 'zod';
import { SANDBOX_WEBHOOK_SECRET } from './sandbox-credentials';

/**
 * The service's whole configuration, read once at boot from the environment.
 * Names are part of the public contract (ARCHITECTURE.md, "Public contract").
 */
const integer = (min: number, max: number) => z.coerce.number().int().min(min).max(max);
const optionalString = z
  .string()
  .trim()
  .transform((value) => (value === '' ? undefined : value))
  .optional();
const list = z
  .string()
  .optional()
  .transform((value) =>
    (value ?? '')
      .split(',')
      .map((item) => item.trim())
      .filter(Boolean),
  );

/** An empty value (as `VAR=` or a compose default of `''` passes it) counts as unset. */
const unsetWhenEmpty = <T extends z.ZodType>(schema: T) =>
  z.preprocess((value) => (value === '' ? undefined : value), schema);

/** Seconds, fractions allowed (tests use short delays). */
const seconds = (max: number) => z.coerce.number().min(0).max(max);
/** A comma-separated list of seconds; unset or empty: `fallback`; `none`: an empty list. */
const secondsList = (fallback: number[], max: number) =>
  z
    .string()
    .optional()
    .transform((value) => {
      const text = (value ?? '').trim();
      if (text === '') return fallback;
      if (text === 'none') return [];
      return text.split(',').map((item) => (item.trim() === '' ? NaN : Number(item)));
    })
    .pipe(z.array(z.number().min(0).max(max)));

const BaseShape = z.object({
  NODE_ENV: z.enum(['development', 'test', 'production']).default('development'),
  PORT: integer(0, 65535).default(3000),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  PUBLIC_URL: z.url({ protocol: /^https?$/ }).optional(),
  DATABASE_URL: optionalString.pipe(
    z
      .string()
      .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// or postgresql:// URL')
      .optional(),
  ),
  DATA_DIR: z.string().default('./.data'),
  /** `sandbox` (our offline emulator plays Stripe) or `stripe`; unset: `stripe` when a key is set. */
  PAYMENTS_MODE: z.enum(['sandbox', 'stripe']).optional(),
  STRIPE_SECRET_KEY: optionalString.pipe(
    z
      .string()
      .regex(/^(sk|rk)_(test|live)_\w+$/, 'must look like sk_test_…, sk_live_… or rk_…')
      .optional(),
  ),
  STRIPE_WEBHOOK_SECRET: list.pipe(
    z.array(z.string().regex(/^whsec_\w+$/, 'each secret must look like whsec_…')),
  ),
  STRIPE_API_HOST: optionalString,
  STRIPE_API_PORT: unsetWhenEmpty(integer(1, 65535).optional()),
  STRIPE_API_PROTOCOL: unsetWhenEmpty(z.enum(['http', 'https']).optional()),
  STRIPE_TIMEOUT_MS: integer(100, 120_000).default(10_000),
  SANDBOX_PORT: integer(0, 65535).default(12111),
  /** The in-process sandbox's listen address: loopback unless configured otherwise. */
  SANDBOX_HOST: z.string().trim().min(1).default('127.0.0.1'),
  SANDBOX_PUBLIC_URL: z.url({ protocol: /^https?$/ }).optional(),
  SANDBOX_WEBHOOK_URL: z.url({ protocol: /^https?$/ }).optional(),
  SANDBOX_SETTLEMENT_SECONDS: seconds(7 * 86_400).default(10),
  SANDBOX_RETRY_SCHEDULE: secondsList([5, 30, 120, 600, 3600], 3 * 86_400),
  SANDBOX_WEBHOOK_TIMEOUT_SECONDS: z.coerce.number().positive().max(120).default(10),
  SANDBOX_CHAOS: list.pipe(z.array(z.enum(['duplicates', 'out_of_order']))),
  SANDBOX_CHAOS_DELAY_SECONDS: seconds(86_400).default(0),
  /** The business name the sandbox's checkout page and receipts show (Stripe: the account's). */
  SANDBOX_SHOP_NAME: z.string().trim().min(1).max(100).default('Payflow Coffee'),
  REDIS_URL: optionalString.pipe(
    z
      .string()
      .regex(/^rediss?:\/\//, 'must be a redis:// or rediss:// URL')
      .optional(),
  ),
  CHECKOUT_EXPIRES_MINUTES: integer(30, 24 * 60).default(30),
  RATE_LIMIT_PER_MINUTE: integer(0, 1_000_000).default(60),
  RECONCILE_INTERVAL_SECONDS: integer(0, 86_400).default(60),
  RECONCILE_AFTER_SECONDS: integer(1, 7 * 86_400).default(300),
  CORS_ORIGINS: list,
  /** Serve Prometheus metrics on this port (all interfaces); unset: no metrics endpoint. */
  METRICS_PORT: integer(1, 65535).optional(),
  /** Express's `trust proxy`: hops (`1`), `true`, or addresses/subnets (`loopback, 10.0.0.0/8`). */
  TRUST_PROXY: optionalString,
  /** Bounds on the database: connecting (and waiting for a pooled connection), a statement, a lock wait. */
  DATABASE_CONNECT_TIMEOUT_MS: integer(100, 120_000).default(3000),
  DATABASE_STATEMENT_TIMEOUT_MS: integer(100, 3_600_000).default(5000),
  DATABASE_LOCK_TIMEOUT_MS: integer(100, 3_600_000).default(2000),
  /**
   * The hot paths' statements go to PostgreSQL prepared (`PREPARE`/`EXECUTE`, per connection). Off
   * behind a pooler that hands a session's statements to different server connections (PgBouncer
   * in transaction mode): a statement prepared on one would be missing on another.
   */
  DATABASE_PREPARED_STATEMENTS: z.stringbool().default(true),
  /** After SIGTERM: how long in-flight requests may take before the process exits anyway. */
  SHUTDOWN_TIMEOUT_SECONDS: seconds(600).default(10),
  /** Live-status sockets one client address may hold at once, and messages one socket may send a minute. */
  SOCKET_MAX_CONNECTIONS_PER_IP: integer(1, 100_000).default(20),
  SOCKET_MESSAGES_PER_MINUTE: integer(1, 100_000).default(60),
  /** Old rows are deleted every this many seconds (0: never): ledger, idempotency keys, delivered outbox rows. */
  CLEANUP_INTERVAL_SECONDS: integer(0, 86_400).default(3600),
  /** Processed webhook events are kept this long: beyond Stripe's retry horizon (3 days), so at least 30. */
  LEDGER_RETENTION_DAYS: integer(30, 3650).default(30),
  /** The outbox relay's safety-net timer; commits wake it at once (in process and by LISTEN/NOTIFY). */
  OUTBOX_POLL_SECONDS: z.coerce.number().min(0.05).max(3600).default(5),
  /** Waits before each retry of a failed durable delivery; after the last one it is dead-lettered. */
  OUTBOX_RETRY_SCHEDULE: secondsList([1, 5, 30, 120, 600, 1800, 3600], 86_400),
  /** How long a claimed delivery is reserved for its instance; a crashed instance's claims expire then. */
  OUTBOX_LEASE_SECONDS: z.coerce.number().min(1).max(3600).default(30),
  /** Test hook (NODE_ENV=test only): the process kills itself just before running this subscriber. */
  OUTBOX_TEST_CRASH_BEFORE: optionalString,
  /** The worked example of a durable subscriber (src/fulfilment): on, it records paid orders to ship. */
  FULFILMENT_EXAMPLE: z.stringbool().default(false),
});
const EnvSchema = BaseShape.superRefine(refuseUnsafePayments);

/**
 * Fail closed: a service that could take real money never falls back to the sandbox, and never
 * accepts webhooks signed with a secret that is public in this repository.
 */
function refuseUnsafePayments(env: z.output<typeof BaseShape>, ctx: z.RefinementCtx): void {
  const problem = (variable: string, message: string) =>
    ctx.addIssue({ code: 'custom', path: [variable], message });
  const hasKey = env.STRIPE_SECRET_KEY !== undefined;
  const hasWebhookSecret = env.STRIPE_WEBHOOK_SECRET.length > 0;
  if (env.NODE_ENV === 'production' && env.PAYMENTS_MODE === undefined) {
    const hint = 'is required in production (PAYMENTS_MODE=sandbox runs the offline sandbox on purpose)';
    if (!hasKey) problem('STRIPE_SECRET_KEY', hint);
    if (!hasWebhookSecret) problem('STRIPE_WEBHOOK_SECRET', hint);
    if (!hasKey || !hasWebhookSecret) return;
  }
  const mode = env.PAYMENTS_MODE ?? (hasKey ? 'stripe' : 'sandbox');
  if (mode === 'sandbox') {
    if (hasKey) problem('STRIPE_SECRET_KEY', 'must be unset when PAYMENTS_MODE=sandbox');
    return;
  }
  if (!hasKey) problem('STRIPE_SECRET_KEY', 'is required when PAYMENTS_MODE=stripe');
  if (!hasWebhookSecret) problem('STRIPE_WEBHOOK_SECRET', 'is required in Stripe mode');
  if (env.STRIPE_WEBHOOK_SECRET.includes(SANDBOX_WEBHOOK_SECRET)) {
    problem('STRIPE_WEBHOOK_SECRET', "must not contain the sandbox's public secret in Stripe mode");
  }
}

export type Env = z.infer<typeof EnvSchema>;

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

/**
 * Parses the environment. Throws a `ConfigError` naming every variable at fault and what is wrong
 * with it; the offending values are never echoed, since some of them are secrets.
 */
export function parseEnv(raw: Record<string, unknown>): Env {
  const result = EnvSchema.refine((env) => !env.OUTBOX_TEST_CRASH_BEFORE || env.NODE_ENV === 'test', {
    path: ['OUTBOX_TEST_CRASH_BEFORE'],
    message: 'is a test hook: only with NODE_ENV=test',
  }).safeParse(raw);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => `${issue.path.join('.')} ${issue.message}`);
  throw new ConfigError(`Configuration refused: ${problems.join('; ')}`);
}
