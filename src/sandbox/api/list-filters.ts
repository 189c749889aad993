import type { EventRecord } from '../sandbox.store';
import { paramError } from '../stripe/stripe-error';
import type { ParamReader } from './form-params';

/** `created` as Stripe's list filters take it: a timestamp, or a hash of `gt`, `gte`, `lt`, `lte`. */
export function readCreatedFilter(params: ParamReader, key = 'created'): (created: number) => boolean {
  if (!params.has(key)) return () => true;
  if (params.kind(key) !== 'hash') {
    const exact = params.integer(key);
    return (created) => created === exact;
  }
  const hash = params.hash(key)!;
  hash.allowOnly(['gt', 'gte', 'lt', 'lte']);
  const bound = (name: string) => hash.integer(name);
  const [gt, gte, lt, lte] = ['gt', 'gte', 'lt', 'lte'].map(bound);
  return (created) =>
    (gt === undefined || created > gt) &&
    (gte === undefined || created >= gte) &&
    (lt === undefined || created < lt) &&
    (lte === undefined || created <= lte);
}

/** `type` (one type, `*` wildcards allowed, as `checkout.session.*`) or `types[]` (up to 20 exact types). */
export function readEventTypeFilter(params: ParamReader): (type: string) => boolean {
  const type = params.string('type');
  const types = params.strings('types');
  if (type !== undefined && types.length) {
    throw paramError.invalid('types', 'You may only specify one of these parameters: type, types.');
  }
  if (types.length > 20) throw paramError.invalid('types', 'types can have at most 20 entries.');
  if (types.length) return (candidate) => types.includes(candidate);
  if (type === undefined) return () => true;
  const pattern = new RegExp(`^${type.split('*').map(escapeRegExp).join('[a-z0-9_.]*')}$`);
  return (candidate) => pattern.test(candidate);
}

/**
 * `delivery_success`: true lists events every webhook endpoint took (2xx); false lists events with a
 * delivery still pending or failed for good, as Stripe describes it.
 */
export function readDeliverySuccessFilter(params: ParamReader): (event: EventRecord) => boolean {
  const wanted = params.boolean('delivery_success');
  if (wanted === undefined) return () => true;
  return (event) => {
    const delivered = event.deliveries.every((delivery) => delivery.status === 'succeeded');
    return wanted ? delivered : !delivered;
  };
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
