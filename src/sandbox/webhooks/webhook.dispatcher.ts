import { Logger } from '@nestjs/common';
import type { SandboxScheduler } from '../sandbox.scheduler';
import type { DeliveryRecord, EventRecord, SandboxStore } from '../sandbox.store';
import { listensTo } from './webhook-endpoints';
import { signatureHeader } from './webhook-signature';

export interface WebhookSettings {
  retryScheduleSeconds: number[];
  timeoutSeconds: number;
}

/** Switches for tests and demos, changeable at run time (`POST /_sandbox/chaos`). */
export interface ChaosSettings {
  /** Every event is delivered twice (two deliveries, same event id and body). */
  duplicates: boolean;
  /**
   * Events go out newest first: those one action causes, or, with `delaySeconds`, all those
   * created within that many seconds of the first one held.
   */
  outOfOrder: boolean;
  /** Events wait this long before their first delivery attempt. */
  delaySeconds: number;
}

const RETRY_JOB = 'webhook.retry';

interface QueuedAttempt {
  event: EventRecord;
  delivery: DeliveryRecord;
}

/**
 * Delivers events to the webhook endpoints (`/v1/webhook_endpoints`) as Stripe does: to each enabled
 * endpoint that listens to the event's type, a JSON POST signed with that endpoint's secret; any
 * answer but 2xx, a timeout or a refused connection is retried on the retry schedule, per endpoint,
 * re-signed with a new timestamp each time. First attempts go out one at a time in the order the
 * events were created (unless chaos says otherwise); retries come when they are due. A delivery to
 * an endpoint deleted or disabled meanwhile stops, failed.
 */
export class WebhookDispatcher {
  private readonly logger = new Logger('StripeSandbox');
  private readonly queue: QueuedAttempt[] = [];
  private held: EventRecord[] = [];
  private draining = false;
  private idleWaiters: (() => void)[] = [];
  private readonly inFlight = new Set<AbortController>();
  private closed = false;

  constructor(
    private readonly settings: WebhookSettings,
    readonly chaos: ChaosSettings,
    private readonly scheduler: SandboxScheduler,
    private readonly store: SandboxStore,
  ) {
    scheduler.define<{ eventId: string; delivery: number }>(RETRY_JOB, (args) => {
      const event = this.store.events.get(args.eventId);
      const delivery = event?.deliveries[args.delivery];
      if (!event || delivery?.status !== 'pending') return;
      this.queue.push({ event, delivery });
      void this.drain();
    });
  }

  /**
   * After a restart: sends what was not sent yet. Events never handed over get their deliveries now
   * (a chaos delay does not survive a restart); a delivery that was queued or under way is attempted
   * again; retries come from their stored timers.
   */
  resume(): void {
    for (const event of this.store.events.values()) {
      if (!event.dispatched) {
        this.enqueue([event]);
        continue;
      }
      for (const delivery of event.deliveries) {
        if (delivery.status === 'pending' && delivery.nextAttemptAt === null) {
          this.queue.push({ event, delivery });
        }
      }
    }
    void this.drain();
  }

  /** The configured endpoint's URL (SANDBOX_WEBHOOK_URL). */
  get url(): string {
    return [...this.store.webhookEndpoints.values()].find((endpoint) => endpoint.configured)?.url ?? '';
  }

  /** Sends the events one action caused, in the order given, chaos permitting. */
  publish(events: EventRecord[]): void {
    if (!events.length || this.closed) return;
    const { outOfOrder, delaySeconds } = this.chaos;
    if (outOfOrder && delaySeconds > 0) {
      if (!this.held.length) {
        this.scheduler.schedule(delaySeconds * 1000, 'chaos: release held events', () => {
          const held = this.held.reverse();
          this.held = [];
          this.enqueue(held);
        });
      }
      this.held.push(...events);
    } else if (outOfOrder) {
      this.enqueue([...events].reverse());
    } else if (delaySeconds > 0) {
      this.scheduler.schedule(delaySeconds * 1000, 'chaos: delayed delivery', () => this.enqueue(events));
    } else {
      this.enqueue(events);
    }
  }

  /** Resolves once no first attempt is waiting or under way (retries may still be scheduled). */
  idle(): Promise<void> {
    if (!this.draining && !this.queue.length) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  close(): void {
    this.closed = true;
    this.queue.length = 0;
    for (const controller of this.inFlight) controller.abort();
  }

  private enqueue(events: EventRecord[]): void {
    const endpoints = [...this.store.webhookEndpoints.values()];
    for (const event of events) {
      const copies = this.chaos.duplicates ? 2 : 1;
      for (const endpoint of endpoints.filter((e) => listensTo(e, event.type))) {
        for (let copy = 1; copy <= copies; copy++) {
          const delivery: DeliveryRecord = {
            endpointId: endpoint.id,
            url: endpoint.url,
            copy,
            status: 'pending',
            attempts: [],
            nextAttemptAt: null,
          };
          event.deliveries.push(delivery);
          this.queue.push({ event, delivery });
        }
      }
      event.dispatched = true;
      this.store.events.touch(event);
    }
    void this.drain();
  }

  private async drain(): Promise<void> {
    if (this.draining) return;
    this.draining = true;
    try {
      while (this.queue.length && !this.closed) {
        const next = this.queue.shift()!;
        await this.attempt(next.event, next.delivery);
      }
    } finally {
      this.draining = false;
      for (const resolve of this.idleWaiters.splice(0)) resolve();
    }
  }

  private async attempt(event: EventRecord, delivery: DeliveryRecord): Promise<void> {
    const endpoint = this.store.webhookEndpoints.get(delivery.endpointId);
    if (!endpoint || endpoint.status !== 'enabled') {
      delivery.status = 'failed';
      delivery.nextAttemptAt = null;
      this.store.events.touch(event);
      this.logger.warn(
        `Webhook ${event.id} (${event.type}) not sent: endpoint ${delivery.endpointId} ${endpoint ? 'disabled' : 'deleted'}`,
      );
      await this.store.flush().catch(() => undefined);
      return;
    }
    const number = delivery.attempts.length + 1;
    const startedAt = this.scheduler.now();
    const signedAt = Math.floor(startedAt / 1000);
    const controller = new AbortController();
    const timeout = setTimeout(() => controller.abort(), this.settings.timeoutSeconds * 1000);
    this.inFlight.add(controller);
    let statusCode: number | null = null;
    let error: string | null = null;
    try {
      const response = await fetch(endpoint.url, {
        method: 'POST',
        headers: {
          'Content-Type': 'application/json; charset=utf-8',
          'User-Agent': 'Stripe/1.0 (+https://stripe.com/docs/webhooks)',
          'Cache-Control': 'no-cache',
          Accept: '*/*; q=0.5, application/xml',
          'Stripe-Signature': signatureHeader(event.body, endpoint.secret, signedAt),
        },
        body: event.body,
        redirect: 'manual',
        signal: controller.signal,
      });
      statusCode = response.status;
      await response.body?.cancel();
    } catch (caught) {
      error = controller.signal.aborted
        ? this.closed
          ? 'sandbox stopped'
          : `timed out after ${this.settings.timeoutSeconds} s`
        : describeFetchError(caught);
    } finally {
      clearTimeout(timeout);
      this.inFlight.delete(controller);
    }

    // A sandbox stopping mid-attempt leaves the delivery pending: it is attempted again at the next start.
    if (this.closed) return;
    const durationMs = this.scheduler.now() - startedAt;
    delivery.attempts.push({ number, at: startedAt, signedAt, statusCode, error, durationMs });
    delivery.nextAttemptAt = null;
    this.store.events.touch(event);
    const outcome = statusCode ?? error;
    if (statusCode !== null && statusCode >= 200 && statusCode < 300) {
      delivery.status = 'succeeded';
      this.logger.log(
        `Webhook ${event.id} (${event.type}) delivered to ${endpoint.id}: ${statusCode}, attempt ${number}`,
      );
    } else {
      const wait = this.settings.retryScheduleSeconds[number - 1];
      if (wait === undefined) {
        delivery.status = 'failed';
        this.logger.warn(
          `Webhook ${event.id} (${event.type}) failed: ${outcome}, attempt ${number}, giving up`,
        );
      } else {
        delivery.nextAttemptAt = this.scheduler.now() + wait * 1000;
        this.logger.warn(
          `Webhook ${event.id} (${event.type}) failed: ${outcome}, attempt ${number}; retry in ${wait} s`,
        );
        this.scheduler.scheduleDurable(wait * 1000, RETRY_JOB, {
          eventId: event.id,
          delivery: event.deliveries.indexOf(delivery),
        });
      }
    }
    try {
      await this.store.flush();
    } catch {
      // Logged by the store; kept for its next flush.
    }
  }
}

function describeFetchError(error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ?? cause?.message ?? (error as Error).message ?? 'request failed';
}
