import Stripe from 'stripe';
import { SANDBOX_WEBHOOK_SECRET } from '../../src/config';
import {
  advanceSandboxClock,
  payWithCard,
  sandboxEvents,
  startTestSandbox,
  startWebhookReceiver,
  TEST_CARDS,
  type TestSandbox,
  type WebhookReceiver,
} from '../support/sandbox';
import { waitFor } from '../support/wait';

/*
 * Webhook endpoints as Stripe keeps them (`/v1/webhook_endpoints`): the configured one
 * (SANDBOX_WEBHOOK_URL, first STRIPE_WEBHOOK_SECRET) is one of them; each has its own secret and
 * enabled_events; deliveries and retries are per endpoint.
 */
describe('Sandbox webhook endpoints', () => {
  let sandbox: TestSandbox;
  let stripe: Stripe;
  let configured: WebhookReceiver;
  let second: WebhookReceiver;
  let secondSecret = '';

  beforeAll(async () => {
    configured = await startWebhookReceiver();
    // Refuses the first arrival of each event: its deliveries need a retry, the configured one's do not.
    second = await startWebhookReceiver({
      secret: () => secondSecret,
      respond: (_event, arrival) => (arrival === 1 ? 500 : 200),
    });
    sandbox = await startTestSandbox({
      SANDBOX_WEBHOOK_URL: configured.url,
      SANDBOX_RETRY_SCHEDULE: '60',
    });
    stripe = sandbox.stripe;
  });
  afterAll(async () => {
    await sandbox.close();
    await configured.close();
    await second.close();
  });

  const newSession = () =>
    stripe.checkout.sessions.create({
      mode: 'payment',
      line_items: [{ price_data: { currency: 'usd', unit_amount: 900, product_data: { name: 'Mug' } }, quantity: 1 }],
      success_url: 'http://localhost:3000/s',
    }); // prettier-ignore
  const errorOf = (promise: Promise<unknown>) => promise.then(() => undefined, (e: unknown) => e as Stripe.errors.StripeError); // prettier-ignore

  it('lists the configured endpoint, without its secret', async () => {
    const { data } = await stripe.webhookEndpoints.list();
    expect(data).toEqual([
      {
        id: expect.stringMatching(/^we_\w{24}$/),
        object: 'webhook_endpoint',
        api_version: null,
        application: null,
        created: expect.any(Number),
        description: 'Configured by SANDBOX_WEBHOOK_URL',
        enabled_events: ['*'],
        livemode: false,
        metadata: {},
        status: 'enabled',
        url: configured.url,
      },
    ]);
    expect(configured.secret).toBe(SANDBOX_WEBHOOK_SECRET);
  });

  it('sends each endpoint the types it enabled, signed with its own secret, and retries per endpoint', async () => {
    const created = await stripe.webhookEndpoints.create({
      url: second.url,
      enabled_events: ['checkout.session.expired'],
      description: 'Expiries only',
      metadata: { team: 'ops' },
    });
    expect(created).toMatchObject({
      url: second.url,
      enabled_events: ['checkout.session.expired'],
      status: 'enabled',
      secret: expect.stringMatching(/^whsec_\w{32}$/),
      metadata: { team: 'ops' },
    });
    secondSecret = created.secret!;
    expect(await stripe.webhookEndpoints.retrieve(created.id)).not.toHaveProperty('secret');

    const paid = await newSession();
    expect((await payWithCard(paid.url!, { number: TEST_CARDS.success })).status).toBe(303);
    const expired = await newSession();
    await stripe.checkout.sessions.expire(expired.id);

    const [expiry] = await second.waitForCount(1);
    expect(expiry).toMatchObject({ event: { type: 'checkout.session.expired' }, answered: 500 });
    await waitFor(
      () => configured.received.some((r) => r.event.type === 'checkout.session.expired'),
      'the expiry at the configured endpoint',
    );
    expect(configured.received.map((r) => r.event.type)).toEqual([
      'payment_intent.created',
      'charge.succeeded',
      'payment_intent.succeeded',
      'checkout.session.completed',
      'checkout.session.expired',
    ]);
    expect(configured.rejected).toEqual([]);
    expect(second.rejected).toEqual([]);

    await advanceSandboxClock(sandbox.baseUrl, 60);
    const [, retried] = await second.waitForCount(2);
    expect(retried).toMatchObject({ event: { id: expiry.event.id }, answered: 200 });
    // The configured endpoint had it at once, and only once.
    expect(configured.received.filter((r) => r.event.id === expiry.event.id)).toHaveLength(1);
    const [event] = (await sandboxEvents(sandbox.baseUrl)).filter((e) => e.id === expiry.event.id);
    expect(
      event.deliveries.map((d) => [d.endpointId, d.status, d.attempts.map((a) => a.statusCode)]),
    ).toEqual([
      [
        (await stripe.webhookEndpoints.list()).data.find((e) => e.url === configured.url)?.id,
        'succeeded',
        [200],
      ],
      [created.id, 'succeeded', [500, 200]],
    ]);
  });

  it('updates (disable, events, url) and deletes an endpoint; a disabled or deleted one gets nothing', async () => {
    const endpoint = await stripe.webhookEndpoints.create({ url: second.url, enabled_events: ['*'] });
    secondSecret = endpoint.secret!;
    const disabled = await stripe.webhookEndpoints.update(endpoint.id, {
      disabled: true,
      enabled_events: ['checkout.session.expired', 'checkout.session.completed'],
      description: 'paused',
    });
    expect(disabled).toMatchObject({
      status: 'disabled',
      enabled_events: ['checkout.session.expired', 'checkout.session.completed'],
      description: 'paused',
    });
    const before = second.received.length;
    const session = await newSession();
    await stripe.checkout.sessions.expire(session.id);
    await waitFor(
      () => configured.received.some((r) => (r.event.data.object as { id?: string }).id === session.id),
      'the expiry at the configured endpoint',
    );
    const [event] = (await sandboxEvents(sandbox.baseUrl)).filter((e) => e.objectId === session.id);
    expect(event.deliveries.map((d) => d.endpointId)).not.toContain(endpoint.id);

    expect(await stripe.webhookEndpoints.del(endpoint.id)).toEqual(
      expect.objectContaining({ id: endpoint.id, object: 'webhook_endpoint', deleted: true }),
    );
    expect(await errorOf(stripe.webhookEndpoints.retrieve(endpoint.id))).toMatchObject({
      statusCode: 404,
      code: 'resource_missing',
    });
    expect((await stripe.webhookEndpoints.list()).data.map((e) => e.id)).not.toContain(endpoint.id);
    expect(second.received.length).toBe(before);
  });

  it('refuses what it cannot keep, naming the parameter', async () => {
    const cases: [Promise<unknown>, string, RegExp][] = [
      [stripe.webhookEndpoints.create({ enabled_events: ['*'] } as Stripe.WebhookEndpointCreateParams), 'url', /Missing required param: url/],
      [stripe.webhookEndpoints.create({ url: 'ftp://example.com', enabled_events: ['*'] }), 'url', /http/],
      [stripe.webhookEndpoints.create({ url: second.url } as Stripe.WebhookEndpointCreateParams), 'enabled_events', /Missing required param/],
      [stripe.webhookEndpoints.create({ url: second.url, enabled_events: ['order.teleported' as '*'] }), 'enabled_events[0]', /order.teleported/],
      [stripe.webhookEndpoints.create({ url: second.url, enabled_events: ['*'], connect: true }), 'connect', /not supported by the sandbox/],
      [stripe.webhookEndpoints.create({ url: second.url, enabled_events: ['*'], api_version: '2020-08-27' }), 'api_version', /not supported by the sandbox/],
      [stripe.webhookEndpoints.create({ url: second.url, enabled_events: ['*'], expand: ['application'] }), 'expand[0]', /cannot be expanded/],
    ]; // prettier-ignore
    const countBefore = (await stripe.webhookEndpoints.list()).data.length;
    for (const [call, param, message] of cases) {
      const error = await errorOf(call);
      expect({ param: error?.param, status: error?.statusCode }).toEqual({ param, status: 400 });
      expect(error?.message).toMatch(message);
    }
    expect((await stripe.webhookEndpoints.list()).data.length).toBe(countBefore);
  });
});
