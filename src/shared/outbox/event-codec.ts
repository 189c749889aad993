import type { DomainEventClass } from '../domain-event';

const DATE_TAG = '$date';

/**
 * An event as JSON for the outbox: its own fields, with dates tagged so that they come back as
 * `Date`s. Events carry ids and values only (STYLE.md §4), which is what makes this round trip exact.
 */
export function encodeEvent(event: object): string {
  // The usual event is flat (strings, numbers, dates): its dates tagged in a copy, it needs no
  // replacer, whose call per key costs more than the rest of the encoding.
  const flat: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(event)) {
    if (value instanceof Date) flat[key] = { [DATE_TAG]: value.toISOString() };
    else if (typeof value === 'object' && value !== null) return encodeNested(event);
    else flat[key] = value;
  }
  return JSON.stringify(flat);
}

function encodeNested(event: object): string {
  return JSON.stringify(event, function (this: Record<string, unknown>, key: string, value: unknown) {
    const raw = this[key];
    return raw instanceof Date ? { [DATE_TAG]: raw.toISOString() } : value;
  });
}

/** The event back as an instance of its class, as the aggregate recorded it. */
export function decodeEvent<E extends object>(eventClass: DomainEventClass<E>, json: string | object): E {
  const text = typeof json === 'string' ? json : JSON.stringify(json);
  const fields = JSON.parse(text, (_key, value: unknown) => {
    if (value && typeof value === 'object' && !Array.isArray(value)) {
      const entries = Object.keys(value);
      const tagged = (value as Record<string, unknown>)[DATE_TAG];
      if (entries.length === 1 && typeof tagged === 'string') return new Date(tagged);
    }
    return value;
  }) as Record<string, unknown>;
  const prototype = eventClass.prototype as object;
  return Object.assign(Object.create(prototype) as E, fields);
}
