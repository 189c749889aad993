import { Injectable, Logger, type OnModuleInit } from '@nestjs/common';
import { DiscoveryService, MetadataScanner, Reflector } from '@nestjs/core';
import type { DomainEventClass } from '../domain-event';
import { type Delivery, DURABLE_SUBSCRIPTION, type DurableSubscription } from './on-durable-event.decorator';

export interface Subscriber {
  name: string;
  event: DomainEventClass;
  /** What the method returns: a promise if it works asynchronously (the relay awaits it), else done. */
  handle(event: object, delivery: Delivery): unknown;
}

/**
 * The durable subscribers of this process, found at start from `@OnDurableEvent` methods (or added
 * with `subscribe`). Every instance runs the same code, so every instance writes the same delivery
 * rows for an event.
 */
@Injectable()
export class OutboxRegistry implements OnModuleInit {
  private readonly logger = new Logger(OutboxRegistry.name);
  private readonly byName = new Map<string, Subscriber>();
  private readonly byEvent = new Map<string, Subscriber[]>();

  constructor(
    private readonly discovery: DiscoveryService,
    private readonly scanner: MetadataScanner,
    private readonly reflector: Reflector,
  ) {}

  onModuleInit(): void {
    for (const wrapper of this.discovery.getProviders()) {
      const instance = wrapper.instance as Record<string, unknown> | null | undefined;
      if (!instance || typeof instance !== 'object' || !wrapper.isDependencyTreeStatic()) continue;
      for (const method of this.scanner.getAllMethodNames(Object.getPrototypeOf(instance) as object)) {
        const handler = instance[method];
        if (typeof handler !== 'function') continue;
        const meta = this.reflector.get<DurableSubscription | undefined>(DURABLE_SUBSCRIPTION, handler);
        if (!meta) continue;
        this.subscribe(meta.event, meta.subscriber, (event, delivery) =>
          (handler as Subscriber['handle']).call(instance, event, delivery),
        );
      }
    }
    const names = [...this.byName.keys()].sort();
    this.logger.log(`Durable subscribers: ${names.length ? names.join(', ') : 'none'}`);
  }

  /** Registers a durable subscriber by hand (what the decorator does). Names are unique. */
  subscribe<E extends object>(
    event: DomainEventClass<E>,
    name: string,
    handle: (event: E, delivery: Delivery) => unknown,
  ): void {
    if (this.byName.has(name)) throw new Error(`Two durable subscribers are named "${name}"`);
    const subscriber: Subscriber = {
      name,
      event,
      handle: (recorded, delivery) => handle(recorded as E, delivery),
    };
    this.byName.set(name, subscriber);
    this.byEvent.set(event.eventName, [...(this.byEvent.get(event.eventName) ?? []), subscriber]);
  }

  /** The subscribers of an event name; none means the event needs no outbox row. */
  subscribersOf(eventName: string): readonly Subscriber[] {
    return this.byEvent.get(eventName) ?? [];
  }

  find(name: string): Subscriber | undefined {
    return this.byName.get(name);
  }
}
