import { SetMetadata } from '@nestjs/common';
import type { DomainEventClass } from '../domain-event';

export const DURABLE_SUBSCRIPTION = 'outbox:durable-subscription';

/** What a durable subscriber learns about the delivery besides the event itself. */
export interface Delivery {
  /** The event's id: the same on every delivery of this event, so a consumer can be idempotent by it. */
  eventId: string;
  /** 1 for the first try, then 2, 3, … after failures (at least once: a retry may follow a success). */
  attempt: number;
}

export interface DurableSubscription {
  event: DomainEventClass;
  subscriber: string;
}

/** `module.what-it-does`: lowercase, a dot after the module; it names the delivery rows. */
export const SUBSCRIBER_NAME = /^[a-z][a-z0-9-]*\.[a-z0-9][a-z0-9.-]{0,98}$/;

/**
 * Makes the method a durable reaction to a domain event: whenever an aggregate records `event`, a
 * delivery row for `subscriber` is written in the same transaction as the change, and the outbox
 * relay calls this method after the commit, on some instance, until it succeeds (retries with
 * backoff, then the dead-letter state). At least once: make the reaction idempotent by
 * `delivery.eventId`. Throw to have it retried. The method runs in a unit of work of its own.
 *
 * ```ts
 * @OnDurableEvent(OrderPaidEvent, 'shipping.reserve-stock')
 * async reserve(event: OrderPaidEvent, delivery: Delivery): Promise<void> { … }
 * ```
 */
export function OnDurableEvent<E extends object>(event: DomainEventClass<E>, subscriber: string) {
  if (!SUBSCRIBER_NAME.test(subscriber)) {
    throw new Error(`Durable subscriber "${subscriber}" must look like "module.reaction" (lowercase)`);
  }
  return <M extends (event: E, delivery: Delivery) => unknown>(
    target: object,
    key: string | symbol,
    descriptor: TypedPropertyDescriptor<M>,
  ): void => {
    SetMetadata<string, DurableSubscription>(DURABLE_SUBSCRIPTION, { event, subscriber })(
      target,
      key,
      descriptor,
    );
  };
}
