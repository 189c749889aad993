import { once } from 'node:events';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Injectable, Logger } from '@nestjs/common';
import express from 'express';
import { AppConfig, SANDBOX_SECRET_KEY } from '../config';
import { adminRouter } from './admin/admin.router';
import { sandboxPaymentControls } from './admin/payment-controls.router';
import { apiRouter } from './api/api.router';
import { CheckoutService } from './checkout/checkout.service';
import { DisputesService } from './charges/disputes.service';
import { StripeCliHub } from './cli/stripe-cli.hub';
import { stripeCliAdminRouter } from './cli/stripe-cli.routes';
import { PaymentsService } from './charges/payments.service';
import { RefundsService } from './charges/refunds.service';
import { checkoutPageRouter } from './checkout/checkout-page.router';
import { EventLog } from './sandbox.events';
import { SandboxScheduler } from './sandbox.scheduler';
import { SandboxStore } from './sandbox.store';
import { WebhookDispatcher } from './webhooks/webhook.dispatcher';

/**
 * The Stripe sandbox's HTTP server, on its own port: the API (`/v1`), the hosted checkout pages
 * (`/c/pay/:id`), the dashboard (`/`) and the test controls (`/_sandbox/…`). Its state lives in
 * memory and starts empty on every start.
 */
@Injectable()
export class SandboxServer {
  private readonly logger = new Logger('StripeSandbox');
  private server: Server | undefined;
  private scheduler: SandboxScheduler | undefined;
  private dispatcher: WebhookDispatcher | undefined;
  private stripeCli: StripeCliHub | undefined;

  constructor(private readonly config: AppConfig) {}

  /** Where customers and API clients reach it (SANDBOX_PUBLIC_URL, or the port it listens on). */
  get baseUrl(): string {
    const { publicUrl, port } = this.config.sandbox;
    const address = this.server?.address() as AddressInfo | null | undefined;
    return publicUrl ?? `http://127.0.0.1:${address?.port ?? port}`;
  }

  get listening(): boolean {
    return this.server?.listening ?? false;
  }

  async start(): Promise<void> {
    if (this.server) return;
    const settings = this.config.sandbox;
    const store = new SandboxStore();
    const scheduler = new SandboxScheduler();
    const dispatcher = new WebhookDispatcher(
      {
        url: settings.webhookUrl,
        secret: settings.webhookSecret,
        retryScheduleSeconds: settings.retryScheduleSeconds,
        timeoutSeconds: settings.webhookTimeoutSeconds,
      },
      { ...settings.chaos },
      scheduler,
    );
    const events = new EventLog(store, scheduler, dispatcher);
    const stripeCli = new StripeCliHub(settings.webhookSecret, scheduler, () => this.baseUrl);
    events.subscribe((records) => stripeCli.publish(records));
    const settlement = { settlementSeconds: settings.settlementSeconds };
    const disputes = new DisputesService(store, scheduler, events);
    const payments = new PaymentsService(store, scheduler, events, disputes, settlement);
    const refunds = new RefundsService(store, scheduler, events, disputes, settlement);
    const checkout = new CheckoutService(
      store,
      scheduler,
      events,
      { baseUrl: () => this.baseUrl, settlementSeconds: settings.settlementSeconds },
      payments,
      disputes,
    );

    const app = express();
    app.disable('x-powered-by');
    app.set('etag', false);
    app.use(
      '/v1',
      apiRouter({
        secretKey: SANDBOX_SECRET_KEY,
        store,
        scheduler,
        checkout,
        events,
        payments,
        refunds,
        disputes,
        stripeCli,
      }),
    );
    app.use(checkoutPageRouter({ checkout, scheduler }));
    app.use(adminRouter({ store, scheduler, dispatcher, baseUrl: () => this.baseUrl }));
    app.use(sandboxPaymentControls({ disputes }));
    app.use(stripeCliAdminRouter(stripeCli));

    const server = app.listen(settings.port);
    stripeCli.attach(server);
    try {
      await Promise.race([
        once(server, 'listening'),
        once(server, 'error').then(([error]) => Promise.reject(error as Error)),
      ]);
    } catch (error) {
      scheduler.stop();
      stripeCli.close();
      throw (error as NodeJS.ErrnoException).code === 'EADDRINUSE'
        ? new Error(
            `The Stripe sandbox cannot listen on port ${settings.port}: it is in use. Is another sandbox ` +
              `(npm run sandbox) or service running? Set SANDBOX_PORT, or STRIPE_SECRET_KEY for real Stripe.`,
          )
        : (error as Error);
    }
    this.server = server;
    this.scheduler = scheduler;
    this.dispatcher = dispatcher;
    this.stripeCli = stripeCli;
    this.logger.log(
      `Stripe sandbox on ${this.baseUrl}: API /v1, checkout pages /c/pay/…, events at ${this.baseUrl}/; ` +
        `webhooks to ${settings.webhookUrl}`,
    );
  }

  /** Stops timers and deliveries, then closes the server (open connections included). */
  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    this.scheduler?.stop();
    this.dispatcher?.close();
    this.stripeCli?.close();
    const closed = once(server, 'close');
    server.close();
    server.closeAllConnections();
    await closed;
    this.logger.log('Stripe sandbox stopped');
  }
}
