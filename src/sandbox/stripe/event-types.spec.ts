import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ENABLED_EVENT_TYPES } from './event-types';

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
});
