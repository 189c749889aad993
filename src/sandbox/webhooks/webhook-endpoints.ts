import Stripe from 'stripe';
import type { ParamReader } from '../api/form-params';
import type { SandboxStore, WebhookEndpointRecord } from '../sandbox.store';
import { ENABLED_EVENT_TYPES } from '../stripe/event-types';
import { paramError } from '../stripe/stripe-error';
import { newId } from '../stripe/stripe-ids';

const KNOWN_EVENTS = new Set(ENABLED_EVENT_TYPES);

/** Does the endpoint take events of this type now? */
export function listensTo(endpoint: WebhookEndpointRecord, type: string): boolean {
  return (
    endpoint.status === 'enabled' &&
    (endpoint.enabledEvents.includes('*') || endpoint.enabledEvents.includes(type))
  );
}

/** The `webhook_endpoint` object; `secret` only in the answer to its creation, as Stripe shows it. */
export function webhookEndpointJson(
  endpoint: WebhookEndpointRecord,
  options: { withSecret?: boolean } = {},
): Stripe.WebhookEndpoint {
  return {
    id: endpoint.id,
    object: 'webhook_endpoint',
    api_version: endpoint.apiVersion,
    application: null,
    created: endpoint.created,
    description: endpoint.description,
    enabled_events: [...endpoint.enabledEvents],
    livemode: false,
    metadata: { ...endpoint.metadata },
    ...(options.withSecret ? { secret: endpoint.secret } : {}),
    status: endpoint.status,
    url: endpoint.url,
  };
}

/**
 * The endpoint configured by SANDBOX_WEBHOOK_URL and the first STRIPE_WEBHOOK_SECRET: created at the
 * first start, kept in step with the configuration at every start (also after a deletion through
 * the API: configuration wins).
 */
export function ensureConfiguredEndpoint(
  store: SandboxStore,
  configured: { url: string; secret: string },
  now: number,
): WebhookEndpointRecord {
  const existing = [...store.webhookEndpoints.values()].find((endpoint) => endpoint.configured);
  if (existing) {
    const endpoint = store.webhookEndpoints.get(existing.id)!;
    endpoint.url = configured.url;
    endpoint.secret = configured.secret;
    return endpoint;
  }
  const endpoint: WebhookEndpointRecord = {
    id: newId.webhookEndpoint(),
    created: now,
    url: configured.url,
    secret: configured.secret,
    enabledEvents: ['*'],
    status: 'enabled',
    description: 'Configured by SANDBOX_WEBHOOK_URL',
    metadata: {},
    apiVersion: null,
    configured: true,
  };
  store.webhookEndpoints.set(endpoint.id, endpoint);
  return endpoint;
}

function readUrl(params: ParamReader, required: boolean): string | undefined {
  const url = params.string('url', { required, maxLength: 5000 });
  if (url === undefined) return undefined;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw paramError.invalid('url', `Invalid URL: ${url}`, 'url_invalid');
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw paramError.invalid(
      'url',
      `Invalid URL: ${url}. URLs must begin with http:// or https://`,
      'url_invalid',
    );
  }
  return url;
}

function readEnabledEvents(params: ParamReader, required: boolean): string[] | undefined {
  if (!params.has('enabled_events')) {
    if (required) throw paramError.missing('enabled_events');
    return undefined;
  }
  const events = params.strings('enabled_events');
  if (!events.length) throw paramError.missing('enabled_events');
  events.forEach((type, index) => {
    if (!KNOWN_EVENTS.has(type)) {
      throw paramError.invalid(
        `enabled_events[${index}]`,
        `Invalid enabled_events[${index}]: must be one of the event types of API version ${Stripe.API_VERSION}, or *; got ${type}`,
      );
    }
  });
  return [...new Set(events)];
}

/** `api_version`: events are rendered in the pinned version only; another one is refused, never ignored. */
function readApiVersion(params: ParamReader): string | null {
  const version = params.string('api_version');
  if (version === undefined) return null;
  if (version !== Stripe.API_VERSION) {
    throw paramError.invalid(
      'api_version',
      `api_version ${version} is not supported by the sandbox: it sends events in ${Stripe.API_VERSION} only.`,
    );
  }
  return version;
}

/** `POST /v1/webhook_endpoints` */
export function createWebhookEndpoint(
  store: SandboxStore,
  params: ParamReader,
  now: number,
): WebhookEndpointRecord {
  params.allowOnly(['url', 'enabled_events', 'description', 'metadata', 'api_version', 'connect', 'expand']);
  if (params.boolean('connect')) {
    throw paramError.invalid(
      'connect',
      'connect is not supported by the sandbox: it has no connected accounts.',
    );
  }
  const endpoint: WebhookEndpointRecord = {
    id: newId.webhookEndpoint(),
    created: now,
    url: readUrl(params, true)!,
    secret: newId.webhookSecret(),
    enabledEvents: readEnabledEvents(params, true)!,
    status: 'enabled',
    description: params.string('description', { maxLength: 5000 }) ?? null,
    metadata: params.metadata('metadata'),
    apiVersion: readApiVersion(params),
    configured: false,
  };
  store.webhookEndpoints.set(endpoint.id, endpoint);
  return endpoint;
}

/** `POST /v1/webhook_endpoints/:id`: checks everything first, then changes the endpoint. */
export function updateWebhookEndpoint(endpoint: WebhookEndpointRecord, params: ParamReader): void {
  params.allowOnly(['url', 'enabled_events', 'description', 'metadata', 'disabled', 'expand']);
  const url = readUrl(params, false);
  const enabledEvents = readEnabledEvents(params, false);
  const disabled = params.boolean('disabled');
  const description = params.string('description', { maxLength: 5000 });
  const metadata = params.has('metadata') ? params.metadata('metadata') : undefined;
  if (url !== undefined) endpoint.url = url;
  if (enabledEvents !== undefined) endpoint.enabledEvents = enabledEvents;
  if (disabled !== undefined) endpoint.status = disabled ? 'disabled' : 'enabled';
  if (description !== undefined) endpoint.description = description;
  if (metadata !== undefined) endpoint.metadata = { ...endpoint.metadata, ...metadata };
}
