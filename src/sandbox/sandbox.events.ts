import { Logger } from '@nestjs/common';
import Stripe from 'stripe';
import type { SandboxScheduler } from './sandbox.scheduler';
import type { EventRecord, SandboxStore } from './sandbox.store';
import { eventJson } from './stripe/stripe-objects';
import { newId } from './stripe/stripe-ids';
import type { WebhookDispatcher } from './webhooks/webhook.dispatcher';

/** `event.request`: the API request that caused the event, or nulls for the customer's own actions. */
export interface EventRequest {
  id: string | null;
  idempotency_key: string | null;
}

export const NO_REQUEST: EventRequest = { id: null, idempotency_key: null };

export interface NewEvent {
  type: string;
  /** The object as Stripe sends it (`data.object`), a snapshot taken now. */
  object: { id: string };
  request?: EventRequest;
}

/**
 * Creates events (with the account's API version) and hands them to the webhook dispatcher once
 * they are stored: whoever causes events flushes the store (API router, checkout page, scheduler).
 */
export class EventLog {
  private readonly logger = new Logger('StripeSandbox');
  private readonly subscribers: ((events: EventRecord[]) => void)[] = [];

  constructor(
    private readonly store: SandboxStore,
    private readonly scheduler: SandboxScheduler,
    private readonly dispatcher: WebhookDispatcher,
  ) {}

  /** Records the events one action caused, in the order given, and sends them. */
  emit(events: NewEvent[]): EventRecord[] {
    const created = this.scheduler.unixNow();
    const records = events.map(({ type, object, request }) => {
      const json = eventJson({
        id: newId.event(),
        type,
        created,
        apiVersion: Stripe.API_VERSION,
        object,
        request: request ?? NO_REQUEST,
      });
      const record: EventRecord = {
        id: json.id,
        type,
        created,
        objectId: object.id,
        body: JSON.stringify(json, null, 2),
        json,
        deliveries: [],
      };
      this.store.events.set(record.id, record);
      this.logger.log(`Event ${record.id} ${type} for ${object.id}`);
      return record;
    });
    this.store.afterNextFlush(() => {
      this.dispatcher.publish(records);
      for (const subscriber of this.subscribers) subscriber(records);
    });
    return records;
  }

  /** Also hands every new batch of events to `subscriber` (the `stripe listen` sessions). */
  subscribe(subscriber: (events: EventRecord[]) => void): void {
    this.subscribers.push(subscriber);
  }
}
