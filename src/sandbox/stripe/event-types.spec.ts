import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Stripe from 'stripe';
import { API_VERSIONS, ENABLED_EVENT_TYPES } from './event-types';

describe('ENABLED_EVENT_TYPES', () => {
  it("is the pinned stripe SDK's WebhookEndpointCreateParams.EnabledEvent, in its order", () => {
    const types = readFileSync(
      join(require.resolve('stripe'), '..', 'resources', 'WebhookEndpoints.d.ts'),
      'utf8',
    );
    const union = /namespace WebhookEndpointCreateParams \{\s*type EnabledEvent = ([^;]+);/.exec(types);
    expect(union).not.toBeNull();
    expect(ENABLED_EVENT_TYPES).toEqual([...union![1].matchAll(/'([^']+)'/g)].map((match) => match[1]));
  });

  it("API_VERSIONS is the pinned SDK's WebhookEndpointCreateParams.ApiVersion, ending with its own version", () => {
    const types = readFileSync(
      join(require.resolve('stripe'), '..', 'resources', 'WebhookEndpoints.d.ts'),
      'utf8',
    );
    const union = /namespace WebhookEndpointCreateParams \{[\s\S]*?type ApiVersion = ([^;]+);/.exec(types);
    expect(union).not.toBeNull();
    expect(API_VERSIONS).toEqual([...union![1].matchAll(/'([^']+)'/g)].map((match) => match[1]));
    expect(API_VERSIONS.at(-1)).toBe(Stripe.API_VERSION);
  });
});
