import { once } from 'node:events';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { MikroORM } from '@mikro-orm/core';
import { Injectable, Logger, Optional } from '@nestjs/common';
import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import { AppConfig, SANDBOX_SECRET_KEY } from '../config';
import { PortInUseError } from '../shared/start-up';
import { adminRouter } from './admin/admin.router';
import { sandboxPaymentControls } from './admin/payment-controls.router';
import { apiRouter } from './api/api.router';
import { FaultSwitches } from './api/faults';
import { IdempotencyStore } from './api/idempotency';
import { CheckoutService } from './checkout/checkout.service';
import { DisputesService } from './charges/disputes.service';
import { StripeCliHub } from './cli/stripe-cli.hub';
import { stripeCliAdminRouter } from './cli/stripe-cli.routes';
import { PaymentsService } from './charges/payments.service';
import { RefundsService } from './charges/refunds.service';
import { checkoutPageRouter } from './checkout/checkout-page.router';
import { mailboxRouter } from './mailbox/mailbox.router';
import { EventLog } from './sandbox.events';
import { SandboxScheduler } from './sandbox.scheduler';
import { SandboxStore } from './sandbox.store';
import type { SandboxStorage } from './storage/sandbox-storage';
import {
  MemoryStorageFactory,
  SandboxStorageFactory,
  ServiceDatabaseStorageFactory,
} from './storage/storage.factory';
import { WebhookDispatcher } from './webhooks/webhook.dispatcher';
import { ensureConfiguredEndpoint } from './webhooks/webhook-endpoints';

/** One running sandbox account: its state, timers, deliveries and routes. Replaced whole by a reset. */
interface Runtime {
  store: SandboxStore;
  scheduler: SandboxScheduler;
  dispatcher: WebhookDispatcher;
  router: Router;
}

/**
 * The Stripe sandbox's HTTP server, on its own port: the API (`/v1`), the hosted checkout pages
 * (`/c/pay/:id`), the dashboard (`/`) and the test controls (`/_sandbox/…`). Its state is kept in
 * its storage (the service's database, or the standalone sandbox's own) and survives a restart:
 * loaded at start, written through before each answer, timers re-armed.
 */
@Injectable()
export class SandboxServer {
  private readonly logger = new Logger('StripeSandbox');
  private server: Server | undefined;
  private listeningPort: number | undefined;
  private storage: SandboxStorage | undefined;
  private runtime: Runtime | undefined;
  /** `stripe listen` sessions: of the server (its websocket), not of a runtime's stored state. */
  private stripeCli: StripeCliHub | undefined;
  /** Faults are switched per process, not stored; they survive a reset only if not cleared by it. */
  private readonly faults = new FaultSwitches();
  private readonly storageFactory: SandboxStorageFactory;

  constructor(
    private readonly config: AppConfig,
    @Optional() orm?: MikroORM,
    @Optional() storageFactory?: SandboxStorageFactory,
  ) {
    this.storageFactory =
      storageFactory ?? (orm ? new ServiceDatabaseStorageFactory(orm) : new MemoryStorageFactory());
  }

  /** Where customers and API clients reach it (SANDBOX_PUBLIC_URL, or the port it listens on). */
  get baseUrl(): string {
    const { publicUrl, port } = this.config.sandbox;
    if (publicUrl) return publicUrl;
    // The port it listens on (asked of the socket once: every session's URL is made of it).
    this.listeningPort ??= (this.server?.address() as AddressInfo | null | undefined)?.port;
    return `http://127.0.0.1:${this.listeningPort ?? port}`;
  }

  get listening(): boolean {
    return this.server?.listening ?? false;
  }

  async start(): Promise<void> {
    if (this.server) return;
    const settings = this.config.sandbox;
    const app = express();
    app.disable('x-powered-by');
    app.set('etag', false);
    // The routes of the current runtime (a reset swaps it for an empty one).
    app.use((req: Request, res: Response, next: NextFunction) => {
      if (!this.runtime) return res.status(503).json({ error: { message: 'The sandbox is starting' } });
      return this.runtime.router(req, res, next);
    });

    const server = app.listen(settings.port, settings.host);
    const stripeCli = new StripeCliHub(settings.webhookSecret, Date.now, () => this.baseUrl);
    stripeCli.attach(server);
    this.stripeCli = stripeCli;
    try {
      await Promise.race([
        once(server, 'listening'),
        once(server, 'error').then(([error]) => Promise.reject(error as Error)),
      ]);
    } catch (error) {
      throw (error as NodeJS.ErrnoException).code === 'EADDRINUSE'
        ? new PortInUseError(
            'SANDBOX_PORT',
            settings.port,
            ' Another sandbox (npm run sandbox) or service may run; STRIPE_SECRET_KEY uses real Stripe.',
          )
        : (error as Error);
    }
    this.server = server;
    try {
      // Each sandbox address is its own account in a shared database.
      this.storage = await this.storageFactory.open(this.baseUrl);
      this.runtime = await this.openRuntime(this.storage);
    } catch (error) {
      await this.stop();
      throw error;
    }
    this.logger.log(
      `Stripe sandbox on ${this.baseUrl}: API /v1, checkout pages /c/pay/…, events at ${this.baseUrl}/, ` +
        `receipts at ${this.baseUrl}/mailbox; webhooks to ${settings.webhookUrl} (SANDBOX_WEBHOOK_URL); ` +
        `state kept in ${this.storage.describe()}`,
    );
  }

  /** Stops timers and deliveries, then closes the server (open connections included) and the storage. */
  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    this.listeningPort = undefined;
    const runtime = this.runtime;
    this.runtime = undefined;
    if (runtime) await this.closeRuntime(runtime);
    this.stripeCli?.close();
    this.stripeCli = undefined;
    const closed = once(server, 'close');
    server.close();
    server.closeAllConnections();
    await closed;
    await this.storage?.close();
    this.storage = undefined;
    this.logger.log('Stripe sandbox stopped');
  }

  /** `POST /_sandbox/reset`: forgets everything (stored state included) and starts empty. */
  private async reset(): Promise<void> {
    const storage = this.storage;
    const runtime = this.runtime;
    if (!storage || !runtime) return;
    this.runtime = undefined;
    await this.closeRuntime(runtime);
    await storage.clear();
    this.faults.clear();
    this.runtime = await this.openRuntime(storage);
    this.logger.log('Stripe sandbox reset: it starts empty');
  }

  private async closeRuntime(runtime: Runtime): Promise<void> {
    runtime.scheduler.stop();
    runtime.dispatcher.close();
    // What is changed and not yet written is written (a no-op when every answer flushed).
    await runtime.store.flush().catch(() => undefined);
    runtime.store.close();
  }

  /** Loads the stored state, re-arms its timers and resumes its deliveries. */
  private async openRuntime(storage: SandboxStorage): Promise<Runtime> {
    const settings = this.config.sandbox;
    const store = new SandboxStore(storage);
    const scheduler = new SandboxScheduler(Date.now, store);
    const dispatcher = new WebhookDispatcher(
      { retryScheduleSeconds: settings.retryScheduleSeconds, timeoutSeconds: settings.webhookTimeoutSeconds },
      { ...settings.chaos },
      scheduler,
      store,
    );
    const events = new EventLog(store, scheduler, dispatcher);
    events.subscribe((records) => this.stripeCli?.publish(records));
    const settlement = { settlementSeconds: settings.settlementSeconds };
    const disputes = new DisputesService(store, scheduler, events);
    const payments = new PaymentsService(store, scheduler, events, disputes, settlement);
    const refunds = new RefundsService(store, scheduler, events, disputes, settlement);
    const checkout = new CheckoutService(
      store,
      scheduler,
      events,
      {
        baseUrl: () => this.baseUrl,
        settlementSeconds: settings.settlementSeconds,
        shopName: settings.shopName,
      },
      payments,
      disputes,
    );
    const idempotency = new IdempotencyStore(() => scheduler.now(), store.idempotency);

    const loaded = await store.load();
    ensureConfiguredEndpoint(
      store,
      { url: settings.webhookUrl, secret: settings.webhookSecret },
      scheduler.unixNow(),
    );
    idempotency.prune();
    scheduler.restore();
    await store.flush();
    dispatcher.resume();
    await scheduler.runDue();
    if (loaded) {
      this.logger.log(
        `Stripe sandbox state loaded: ${store.sessions.size} sessions, ${store.events.size} events, ` +
          `${scheduler.pending} timers`,
      );
    }

    const router = express.Router();
    router.use(
      '/v1',
      apiRouter({
        secretKey: SANDBOX_SECRET_KEY,
        store,
        scheduler,
        checkout,
        idempotency,
        faults: this.faults,
        events,
        payments,
        refunds,
        disputes,
        stripeCli: this.stripeCli!,
      }),
    );
    router.use(
      checkoutPageRouter({
        checkout,
        scheduler,
        store,
        shop: { name: settings.shopName, url: `${this.config.publicUrl}/` },
      }),
    );
    router.use(mailboxRouter({ store }));
    router.use(
      adminRouter({
        store,
        scheduler,
        dispatcher,
        faults: this.faults,
        baseUrl: () => this.baseUrl,
        reset: () => this.reset(),
      }),
    );
    router.use(sandboxPaymentControls({ disputes, store }));
    router.use(stripeCliAdminRouter(this.stripeCli!));
    return { store, scheduler, dispatcher, router };
  }
}
