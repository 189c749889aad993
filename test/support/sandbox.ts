import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Test, type TestingModule } from '@nestjs/testing';
import Stripe from 'stripe';
import {
  AppConfig,
  ConfigModule,
  parseEnv,
  SANDBOX_SECRET_KEY,
  SANDBOX_WEBHOOK_SECRET,
} from '../../src/config';
import { SandboxModule } from '../../src/sandbox';
import { freePort, type ServiceProcess, startNodeProcess } from './service-process';
import { waitFor } from './wait';

/*
 * Test hooks for the Stripe sandbox: start one, talk to it with the real stripe SDK, act as the
 * customer on its hosted checkout page (an HTTP form, as a browser without JavaScript posts it),
 * move its clock, and receive its webhooks with signatures checked by stripe.webhooks.constructEvent.
 */

/** Stripe's test cards, as a customer types them. */
export const TEST_CARDS = {
  success: '4242 4242 4242 4242',
  genericDecline: '4000 0000 0000 0002',
  insufficientFunds: '4000 0000 0000 9995',
  expiredCard: '4000 0000 0000 0069',
  incorrectCvc: '4000 0000 0000 0127',
} as const;

/** Stripe's test bank accounts (routing number 110000000). */
export const TEST_BANK_ACCOUNTS = { settles: '000123456789', accountClosed: '000111111113' } as const;

/** A stripe-node client pointed at a sandbox (no network retries, so that tests see each answer). */
export function sandboxStripe(baseUrl: string, apiKey: string = SANDBOX_SECRET_KEY): Stripe {
  const url = new URL(baseUrl);
  return new Stripe(apiKey, {
    host: url.hostname,
    port: Number(url.port),
    protocol: url.protocol === 'https:' ? 'https' : 'http',
    maxNetworkRetries: 0,
    telemetry: false,
  });
}

export interface TestSandbox {
  baseUrl: string;
  stripe: Stripe;
  close(): Promise<void>;
}

/**
 * Starts the sandbox module on its own (no service, no database) on a free port, configured from
 * the test environment plus `env` (SANDBOX_WEBHOOK_URL, SANDBOX_RETRY_SCHEDULE, …).
 */
export async function startTestSandbox(env: Record<string, string> = {}): Promise<TestSandbox> {
  const port = await freePort();
  // Unless told where, webhooks go to a port nobody listens on (never to a service that happens to run).
  const nowhere = {
    SANDBOX_WEBHOOK_URL: `http://127.0.0.1:${await freePort()}/`,
    SANDBOX_RETRY_SCHEDULE: 'none',
  };
  const config = new AppConfig(parseEnv({ ...process.env, ...nowhere, SANDBOX_PORT: String(port), ...env }));
  if (!config.sandbox.enabled) throw new Error('startTestSandbox needs no STRIPE_SECRET_KEY');
  const moduleRef: TestingModule = await Test.createTestingModule({ imports: [ConfigModule, SandboxModule] })
    .overrideProvider(AppConfig)
    .useValue(config)
    .compile();
  moduleRef.useLogger(false);
  await moduleRef.init();
  const baseUrl = `http://127.0.0.1:${config.sandbox.port}`;
  return { baseUrl, stripe: sandboxStripe(baseUrl), close: () => moduleRef.close() };
}

/**
 * Runs the built standalone sandbox (`node dist/sandbox/main.js`, what `npm run sandbox` runs) as a
 * child process on `env.SANDBOX_PORT` or a free port, and waits until it answers.
 */
export async function startSandboxProcess(
  env: Record<string, string>,
  timeoutMs = 30_000,
): Promise<ServiceProcess> {
  const port = env.SANDBOX_PORT ? Number(env.SANDBOX_PORT) : await freePort();
  return startNodeProcess('dist/sandbox/main.js', {
    env: { ...env, SANDBOX_PORT: String(port) },
    port,
    readyPath: '/_sandbox/health',
    timeoutMs,
  });
}

// ---------------------------------------------------------------------------------------------
// The hosted checkout page, driven as a customer would.

export interface CheckoutPageResult {
  status: number;
  /** Where a 303 sends the customer (`success_url` with the session id filled in). */
  location?: string;
  /** The text of the page's `role="alert"` element, if it shows one. */
  alert?: string;
  html: string;
}

function decodeHtml(text: string): string {
  return text
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&amp;/g, '&');
}

async function pageResult(response: Response): Promise<CheckoutPageResult> {
  const html = await response.text();
  const alert = /role="alert"[^>]*>([^<]*)</.exec(html)?.[1];
  return {
    status: response.status,
    location: response.headers.get('location') ?? undefined,
    alert: alert === undefined ? undefined : decodeHtml(alert.trim()),
    html,
  };
}

/** GET the page at a session's `url`. */
export async function openCheckoutPage(
  sessionUrl: string,
): Promise<CheckoutPageResult & { cancelHref?: string }> {
  const result = await pageResult(await fetch(sessionUrl));
  const cancel = /<a href="([^"]*)">(?:Cancel|← Back)<\/a>/.exec(result.html)?.[1];
  return { ...result, cancelHref: cancel === undefined ? undefined : decodeHtml(cancel) };
}

async function submitCheckoutForm(
  sessionUrl: string,
  fields: Record<string, string>,
): Promise<CheckoutPageResult> {
  const response = await fetch(sessionUrl, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(fields).toString(),
    redirect: 'manual',
  });
  return pageResult(response);
}

/** Fills in the card form and presses "Pay". */
export function payWithCard(
  sessionUrl: string,
  card: { number: string; expiry?: string; cvc?: string; name?: string; email?: string },
): Promise<CheckoutPageResult> {
  return submitCheckoutForm(sessionUrl, {
    email: card.email ?? 'buyer@example.com',
    method: 'card',
    cardNumber: card.number,
    expiry: card.expiry ?? '12 / 34',
    cvc: card.cvc ?? '123',
    name: card.name ?? 'Jenny Rosen',
  });
}

/** Chooses "US bank account", types the account number and presses "Pay". */
export function payByBank(
  sessionUrl: string,
  accountNumber: string = TEST_BANK_ACCOUNTS.settles,
  options: { email?: string; name?: string } = {},
): Promise<CheckoutPageResult> {
  return submitCheckoutForm(sessionUrl, {
    email: options.email ?? 'buyer@example.com',
    method: 'us_bank_account',
    accountNumber,
    name: options.name ?? 'Jenny Rosen',
  });
}

// ---------------------------------------------------------------------------------------------
// Admin endpoints (the sandbox's own, under /_sandbox).

async function adminJson<T>(baseUrl: string, path: string, body?: object): Promise<T> {
  const response = await fetch(`${baseUrl}${path}`, {
    method: body ? 'POST' : 'GET',
    headers: body ? { 'Content-Type': 'application/json' } : {},
    body: body ? JSON.stringify(body) : undefined,
  });
  if (!response.ok) throw new Error(`${path} answered ${response.status}: ${await response.text()}`);
  return (await response.json()) as T;
}

/** Fast-forwards the sandbox's timers: expiries and settlements due within `seconds` have run when it resolves. */
export function advanceSandboxClock(baseUrl: string, seconds: number): Promise<{ ran: number }> {
  return adminJson(baseUrl, '/_sandbox/clock/advance', { seconds });
}

export interface SandboxChaos {
  duplicates: boolean;
  outOfOrder: boolean;
  delaySeconds: number;
}

export function setSandboxChaos(baseUrl: string, chaos: Partial<SandboxChaos>): Promise<SandboxChaos> {
  return adminJson(baseUrl, '/_sandbox/chaos', chaos);
}

export interface SandboxDeliveryAttempt {
  number: number;
  at: number;
  signedAt: number;
  statusCode: number | null;
  error: string | null;
}

export interface SandboxEvent {
  id: string;
  type: string;
  created: number;
  objectId: string;
  deliveries: {
    endpointId: string;
    url: string;
    copy: number;
    status: 'pending' | 'succeeded' | 'failed';
    attempts: SandboxDeliveryAttempt[];
  }[];
}

/** Every event the sandbox created, oldest first, with its deliveries and their attempts. */
export async function sandboxEvents(baseUrl: string): Promise<SandboxEvent[]> {
  return (await adminJson<{ events: SandboxEvent[] }>(baseUrl, '/_sandbox/events')).events;
}

/**
 * Waits until the sandbox has events matching `filter` (by type and/or object id), each with at
 * least one finished delivery (succeeded, or failed for good), and resolves to them, oldest first.
 */
export async function waitForDeliveries(
  baseUrl: string,
  filter: { types: string[]; objectId?: string },
  timeoutMs = 10_000,
): Promise<SandboxEvent[]> {
  return waitFor(
    async () => {
      const events = (await sandboxEvents(baseUrl)).filter(
        (e) =>
          filter.types.includes(e.type) && (filter.objectId === undefined || e.objectId === filter.objectId),
      );
      const done = events.filter((e) => e.deliveries.some((d) => d.status !== 'pending'));
      const allTypes = filter.types.every((type) => done.some((e) => e.type === type));
      return allTypes && done.length === events.length ? events : undefined;
    },
    `deliveries of ${filter.types.join(', ')}`,
    timeoutMs,
  );
}

// ---------------------------------------------------------------------------------------------
// A webhook endpoint for tests: what the service's endpoint does first (verify, then parse).

export interface ReceivedWebhook {
  event: Stripe.Event;
  signature: string;
  /** The `t` of the signature. */
  signedAt: number;
  rawBody: string;
  /** The status this receiver answered. */
  answered: number | 'no answer';
}

export interface WebhookReceiver {
  url: string;
  secret: string;
  /** Verified deliveries, in arrival order. */
  received: ReceivedWebhook[];
  /** Requests whose signature did not verify (should stay empty). */
  rejected: string[];
  waitForCount(count: number, timeoutMs?: number): Promise<ReceivedWebhook[]>;
  close(): Promise<void>;
}

/**
 * An HTTP endpoint that verifies each request with `stripe.webhooks.constructEvent` (400 if it does
 * not verify) and answers what `respond` says for it: a status code, or `'no answer'` to hang until
 * the sender times out. `respond` gets the event and how many times this event id arrived so far.
 */
export async function startWebhookReceiver(
  options: {
    /** The endpoint's signing secret; a function when it is known only later (an endpoint created after). */
    secret?: string | (() => string);
    respond?: (event: Stripe.Event, arrival: number) => number | 'no answer';
  } = {},
): Promise<WebhookReceiver> {
  const secretOf = () =>
    typeof options.secret === 'function' ? options.secret() : (options.secret ?? SANDBOX_WEBHOOK_SECRET);
  const stripe = new Stripe('sk_test_receiver_only');
  const received: ReceivedWebhook[] = [];
  const rejected: string[] = [];
  const hanging = new Set<ServerResponse>();
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const rawBody = Buffer.concat(chunks).toString('utf8');
      const signature = String(req.headers['stripe-signature'] ?? '');
      let event: Stripe.Event;
      try {
        event = stripe.webhooks.constructEvent(rawBody, signature, secretOf());
      } catch (error) {
        rejected.push((error as Error).message);
        res.writeHead(400).end();
        return;
      }
      const arrival = received.filter((r) => r.event.id === event.id).length + 1;
      const answer = options.respond?.(event, arrival) ?? 200;
      received.push({
        event,
        signature,
        signedAt: Number(/t=(\d+)/.exec(signature)?.[1]),
        rawBody,
        answered: answer,
      });
      if (answer === 'no answer') {
        hanging.add(res);
        return;
      }
      res.writeHead(answer, { 'Content-Type': 'application/json' }).end('{"received":true}');
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/webhooks`,
    get secret() {
      return secretOf();
    },
    received,
    rejected,
    waitForCount: (count, timeoutMs = 10_000) =>
      waitFor(() => received.length >= count && [...received], `${count} webhook deliveries`, timeoutMs),
    close: async () => {
      for (const res of hanging) res.destroy();
      server.closeAllConnections();
      server.close();
      await once(server, 'close');
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Fault switches (`/_sandbox/faults`): see src/sandbox/api/faults.ts.

export type SandboxFaultInput =
  | { operation: string; fault: 'status'; status: number; count?: number }
  | { operation: string; fault: 'timeout' | 'drop_response'; count?: number }
  | { operation: string; fault: 'slow'; seconds: number; count?: number };

export type SandboxFault = SandboxFaultInput & { remaining: number };

/** Makes the next `count` (default 1) calls of an operation (`checkout.sessions.create`, …) fail so. */
export async function setSandboxFault(baseUrl: string, fault: SandboxFaultInput): Promise<SandboxFault> {
  return (await adminJson<{ fault: SandboxFault }>(baseUrl, '/_sandbox/faults', fault)).fault;
}

/** The faults still switched on. */
export async function sandboxFaults(baseUrl: string): Promise<SandboxFault[]> {
  return (await adminJson<{ faults: SandboxFault[] }>(baseUrl, '/_sandbox/faults')).faults;
}

/** Switches every fault off. */
export async function clearSandboxFaults(baseUrl: string): Promise<void> {
  const response = await fetch(`${baseUrl}/_sandbox/faults`, { method: 'DELETE' });
  if (!response.ok) throw new Error(`DELETE /_sandbox/faults answered ${response.status}`);
}
