import type { EventEmitter2 } from '@nestjs/event-emitter';

/**
 * A fact one module tells the others. Each event class carries its name as `static readonly
 * eventName` (`'orders.placed'`); the payload is readonly ids and values, never entities.
 */
export interface DomainEventClass<E extends object = object> {
  readonly eventName: string;
  new (...args: never[]): E;
}

export function eventNameOf(event: object): string {
  const { eventName } = event.constructor as Partial<DomainEventClass>;
  if (!eventName) throw new Error(`${event.constructor.name} has no static eventName`);
  return eventName;
}

/**
 * An aggregate that records the events its state changes raise. They are written to the outbox in
 * the transaction that persists the change, and reach their durable subscribers after it commits
 * (`src/shared/outbox`).
 */
export interface RecordsDomainEvents {
  pullDomainEvents(): object[];
}

export function recordsDomainEvents(entity: object): entity is RecordsDomainEvents {
  return typeof (entity as Partial<RecordsDomainEvents>).pullDomainEvents === 'function';
}

/**
 * Emits an event whose listener must join the caller's transaction (must-succeed-together, see
 * STYLE.md §4): its errors propagate (listeners use `suppressErrors: false`), and an event nobody
 * listens to is an error rather than a silently lost effect.
 */
export async function emitWithinTransaction(emitter: EventEmitter2, event: object): Promise<void> {
  const name = eventNameOf(event);
  if (!emitter.hasListeners(name)) throw new Error(`No listener for ${name}: its effect would be lost`);
  await emitter.emitAsync(name, event);
}
