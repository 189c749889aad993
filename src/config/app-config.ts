import { resolve } from 'node:path';
import type { Env } from './env';
import { SANDBOX_SECRET_KEY, SANDBOX_WEBHOOK_SECRET } from './sandbox-credentials';

export { SANDBOX_SECRET_KEY, SANDBOX_WEBHOOK_SECRET };

/** Bounds on every PostgreSQL connection, so that a stuck database answers errors, not hangs. */
export interface DatabaseLimits {
  /** Opening a connection, and waiting for one from the pool. */
  connectTimeoutMs: number;
  statementTimeoutMs: number;
  lockTimeoutMs: number;
  /** DATABASE_PREPARED_STATEMENTS: the hot paths' statements are prepared per connection. */
  preparedStatements: boolean;
}

export type DatabaseConfig =
  { kind: 'postgresql'; url: string; limits: DatabaseLimits } | { kind: 'pglite'; dataDir: string };

export interface StripeConfig {
  /** PAYMENTS_MODE: `sandbox` (our offline emulator plays Stripe) or `stripe` (a real account). */
  mode: 'sandbox' | 'stripe';
  /** Whether the key is a live-mode key: an event whose `livemode` differs is refused. */
  livemode: boolean;
  secretKey: string;
  /** Every secret currently accepted for webhook signatures (rotation); the first one signs in the sandbox. */
  webhookSecrets: string[];
  /** Where the API is reached; absent means Stripe's own default (api.stripe.com:443). */
  api?: { host: string; port: number; protocol: 'http' | 'https' };
  timeoutMs: number;
}

/** The offline Stripe sandbox (src/sandbox): where it listens and how it behaves. */
export interface SandboxConfig {
  /** True in sandbox mode: the service starts the sandbox in its own process. */
  enabled: boolean;
  /** Listen address (SANDBOX_HOST): loopback unless configured otherwise. */
  host: string;
  port: number;
  /** Base URL of the hosted checkout pages; absent: `http://127.0.0.1:<the port it listens on>`. */
  publicUrl?: string;
  /** Where webhook events are POSTed. */
  webhookUrl: string;
  /** The secret webhook signatures are made with. */
  webhookSecret: string;
  /** How long a bank (ACH) payment takes to settle or fail. */
  settlementSeconds: number;
  /** Waits before each retry of a failed delivery; its length is the number of retries. */
  retryScheduleSeconds: number[];
  webhookTimeoutSeconds: number;
  /** Switches for tests and demos: every event twice; events newest first; a wait before delivery. */
  chaos: { duplicates: boolean; outOfOrder: boolean; delaySeconds: number };
  /** Where the standalone sandbox (`npm run sandbox`) keeps its PGlite when DATABASE_URL is not set. */
  dataDir: string;
  /** The business name on its checkout pages and receipts. */
  shopName: string;
}

/** The transactional outbox's relay (src/shared/outbox). */
export interface OutboxConfig {
  /** Safety-net timer: commits wake the relay at once. */
  pollSeconds: number;
  /** Waits before each retry; its length is the number of retries before the dead-letter state. */
  retryScheduleSeconds: number[];
  /** How long a claimed delivery stays reserved for the instance that claimed it. */
  leaseSeconds: number;
  /** Test hook: the subscriber before which the process kills itself (NODE_ENV=test only). */
  testCrashBefore?: string;
}

/**
 * The typed configuration every module reads (injected by its class). Built once from the parsed
 * environment; nothing else in the code reads `process.env`.
 */
export class AppConfig {
  readonly env: Env['NODE_ENV'];
  readonly port: number;
  readonly logLevel: Env['LOG_LEVEL'];
  readonly publicUrl: string;
  readonly database: DatabaseConfig;
  readonly stripe: StripeConfig;
  readonly sandbox: SandboxConfig;
  readonly redisUrl?: string;
  readonly checkoutExpiresMinutes: number;
  readonly rateLimitPerMinute: number;
  readonly reconciliation: { intervalSeconds: number; afterSeconds: number };
  readonly corsOrigins: string[];
  /** Where `/metrics` is served (Prometheus); undefined: nowhere. */
  readonly metricsPort?: number;
  /** Whom to believe about the client's address (X-Forwarded-For); false: the socket's peer. */
  readonly trustProxy: boolean | number | string;
  readonly outbox: OutboxConfig;
  /** After SIGTERM: how long in-flight requests may still take. */
  readonly shutdownTimeoutSeconds: number;
  readonly sockets: { maxConnectionsPerIp: number; messagesPerMinute: number };
  readonly retention: { intervalSeconds: number; ledgerDays: number };
  /** The worked example of a durable subscriber (src/fulfilment). */
  readonly fulfilmentExample: boolean;

  constructor(env: Env) {
    this.env = env.NODE_ENV;
    this.port = env.PORT;
    this.logLevel = env.LOG_LEVEL;
    this.publicUrl = (env.PUBLIC_URL ?? `http://localhost:${env.PORT}`).replace(/\/+$/, '');
    this.database = env.DATABASE_URL
      ? {
          kind: 'postgresql',
          url: env.DATABASE_URL,
          limits: {
            connectTimeoutMs: env.DATABASE_CONNECT_TIMEOUT_MS,
            statementTimeoutMs: env.DATABASE_STATEMENT_TIMEOUT_MS,
            lockTimeoutMs: env.DATABASE_LOCK_TIMEOUT_MS,
            preparedStatements: env.DATABASE_PREPARED_STATEMENTS,
          },
        }
      : { kind: 'pglite', dataDir: resolve(env.DATA_DIR, 'pglite') };

    // parseEnv has refused every unsafe combination (see refuseUnsafePayments).
    const sandbox = (env.PAYMENTS_MODE ?? (env.STRIPE_SECRET_KEY ? 'stripe' : 'sandbox')) === 'sandbox';
    const secretKey = sandbox ? SANDBOX_SECRET_KEY : env.STRIPE_SECRET_KEY!;
    const explicitApi = env.STRIPE_API_HOST
      ? {
          host: env.STRIPE_API_HOST,
          port: env.STRIPE_API_PORT ?? (env.STRIPE_API_PROTOCOL === 'http' ? 80 : 443),
          protocol: env.STRIPE_API_PROTOCOL ?? 'https',
        }
      : undefined;
    this.stripe = {
      mode: sandbox ? 'sandbox' : 'stripe',
      livemode: /^(sk|rk)_live_/.test(secretKey),
      secretKey,
      webhookSecrets: env.STRIPE_WEBHOOK_SECRET.length
        ? env.STRIPE_WEBHOOK_SECRET
        : sandbox
          ? [SANDBOX_WEBHOOK_SECRET]
          : [],
      api:
        explicitApi ??
        (sandbox ? { host: '127.0.0.1', port: env.SANDBOX_PORT, protocol: 'http' as const } : undefined),
      timeoutMs: env.STRIPE_TIMEOUT_MS,
    };
    this.sandbox = {
      enabled: sandbox,
      host: env.SANDBOX_HOST,
      port: env.SANDBOX_PORT,
      publicUrl: env.SANDBOX_PUBLIC_URL?.replace(/\/+$/, ''),
      webhookUrl: env.SANDBOX_WEBHOOK_URL ?? `http://127.0.0.1:${env.PORT}/api/webhooks/stripe`,
      webhookSecret: this.stripe.webhookSecrets[0] ?? SANDBOX_WEBHOOK_SECRET,
      settlementSeconds: env.SANDBOX_SETTLEMENT_SECONDS,
      retryScheduleSeconds: env.SANDBOX_RETRY_SCHEDULE,
      webhookTimeoutSeconds: env.SANDBOX_WEBHOOK_TIMEOUT_SECONDS,
      chaos: {
        duplicates: env.SANDBOX_CHAOS.includes('duplicates'),
        outOfOrder: env.SANDBOX_CHAOS.includes('out_of_order'),
        delaySeconds: env.SANDBOX_CHAOS_DELAY_SECONDS,
      },
      dataDir: resolve(env.DATA_DIR, 'sandbox'),
      shopName: env.SANDBOX_SHOP_NAME,
    };
    this.redisUrl = env.REDIS_URL;
    this.checkoutExpiresMinutes = env.CHECKOUT_EXPIRES_MINUTES;
    this.rateLimitPerMinute = env.RATE_LIMIT_PER_MINUTE;
    this.reconciliation = {
      intervalSeconds: env.RECONCILE_INTERVAL_SECONDS,
      afterSeconds: env.RECONCILE_AFTER_SECONDS,
    };
    this.metricsPort = env.METRICS_PORT;
    this.corsOrigins = env.CORS_ORIGINS.length ? env.CORS_ORIGINS : [this.publicUrl];
    this.trustProxy = parseTrustProxy(env.TRUST_PROXY);
    this.outbox = {
      pollSeconds: env.OUTBOX_POLL_SECONDS,
      retryScheduleSeconds: env.OUTBOX_RETRY_SCHEDULE,
      leaseSeconds: env.OUTBOX_LEASE_SECONDS,
      testCrashBefore: env.OUTBOX_TEST_CRASH_BEFORE,
    };
    this.fulfilmentExample = env.FULFILMENT_EXAMPLE;
    this.shutdownTimeoutSeconds = env.SHUTDOWN_TIMEOUT_SECONDS;
    this.retention = { intervalSeconds: env.CLEANUP_INTERVAL_SECONDS, ledgerDays: env.LEDGER_RETENTION_DAYS };
    this.sockets = {
      maxConnectionsPerIp: env.SOCKET_MAX_CONNECTIONS_PER_IP,
      messagesPerMinute: env.SOCKET_MESSAGES_PER_MINUTE,
    };
  }
}

function parseTrustProxy(value: string | undefined): boolean | number | string {
  if (value === undefined || value === 'false') return false;
  if (value === 'true') return true;
  return /^\d+$/.test(value) ? Number(value) : value;
}
