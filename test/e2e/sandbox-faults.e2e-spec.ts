import { randomUUID } from 'node:crypto';
import Stripe from 'stripe';
import { SANDBOX_SECRET_KEY } from '../../src/config';
import {
  clearSandboxFaults,
  sandboxFaults,
  setSandboxFault,
  startTestSandbox,
  type TestSandbox,
} from '../support/sandbox';
import { StripeStub } from '../support/stripe-stub';
import { waitFor } from '../support/wait';

/*
 * Answered errors under an idempotency key, and the fault switches: the sandbox saves what an
 * endpoint answered (errors and 500s included) and replays it as Stripe does, keeps nothing for what
 * never ran, and the test stub follows the same rules, so no test passes because a fake is kinder
 * than Stripe.
 */

interface Answer {
  status: number;
  replayed: boolean;
  body: Record<string, unknown> & { id?: string; error?: { type: string; code?: string } };
  headers: Headers;
}

/** The form the service's adapter sends, cut to what both fakes need. */
function sessionForm(orderId: string, email = 'buyer@example.com'): string {
  return new URLSearchParams({
    mode: 'payment',
    'line_items[0][price_data][currency]': 'usd',
    'line_items[0][price_data][unit_amount]': '1450',
    'line_items[0][price_data][product_data][name]': 'Espresso beans, 250 g',
    'line_items[0][quantity]': '2',
    success_url: 'http://localhost:3000/checkout/success?session_id={CHECKOUT_SESSION_ID}',
    client_reference_id: orderId,
    customer_email: email,
    'metadata[orderId]': orderId,
  }).toString();
}

async function call(
  baseUrl: string,
  method: 'GET' | 'POST',
  path: string,
  options: { body?: string; key?: string; timeoutMs?: number } = {},
): Promise<Answer> {
  const response = await fetch(`${baseUrl}${path}`, {
    method,
    headers: {
      Authorization: `Bearer ${SANDBOX_SECRET_KEY}`,
      ...(options.body !== undefined ? { 'Content-Type': 'application/x-www-form-urlencoded' } : {}),
      ...(options.key ? { 'Idempotency-Key': options.key } : {}),
    },
    body: options.body,
    signal: options.timeoutMs ? AbortSignal.timeout(options.timeoutMs) : undefined,
  });
  return {
    status: response.status,
    replayed: response.headers.get('idempotent-replayed') === 'true',
    body: (await response.json()) as Answer['body'],
    headers: response.headers,
  };
}

/** One fake Stripe (the sandbox, or the test stub), driven the same way. */
interface Fake {
  baseUrl: string;
  fail(kind: 'status' | 'timeout' | 'drop_response'): Promise<void>;
  sessionsOf(orderId: string): Promise<string[]>;
}

const fakes: [string, () => Promise<Fake & { close(): Promise<void> }>][] = [
  [
    'the sandbox',
    async () => {
      const sandbox = await startTestSandbox();
      return {
        baseUrl: sandbox.baseUrl,
        fail: async (kind) => {
          await setSandboxFault(
            sandbox.baseUrl,
            kind === 'status'
              ? { operation: 'checkout.sessions.create', fault: 'status', status: 500 }
              : { operation: 'checkout.sessions.create', fault: kind },
          );
        },
        sessionsOf: async (orderId) =>
          (await sandbox.stripe.checkout.sessions.list({ limit: 100 })).data
            .filter((s) => s.client_reference_id === orderId)
            .map((s) => s.id),
        close: () => sandbox.close(),
      };
    },
  ],
  [
    'the test stub',
    async () => {
      const stub = await new StripeStub().start();
      return {
        baseUrl: `http://127.0.0.1:${stub.port}`,
        fail: (kind) => {
          if (kind === 'status') stub.failNext(500);
          else if (kind === 'timeout') stub.hangNext();
          else stub.dropNext();
          return Promise.resolve();
        },
        sessionsOf: (orderId) =>
          Promise.resolve(
            [...stub.sessions.values()].filter((s) => s.client_reference_id === orderId).map((s) => s.id),
          ),
        close: () => stub.stop(),
      };
    },
  ],
];

describe.each(fakes)('Idempotent errors, as Stripe keeps them: %s', (_name, start) => {
  let fake: Fake & { close(): Promise<void> };
  beforeAll(async () => {
    fake = await start();
  });
  afterAll(() => fake.close());

  const create = (orderId: string, key: string, options: { email?: string; timeoutMs?: number } = {}) =>
    call(fake.baseUrl, 'POST', '/v1/checkout/sessions', {
      body: sessionForm(orderId, options.email),
      key,
      timeoutMs: options.timeoutMs,
    });

  it('saves an answered 500 under its key and replays it; a new key creates the session', async () => {
    const orderId = randomUUID();
    await fake.fail('status');
    const failed = await create(orderId, `checkout:${orderId}:1`);
    expect(failed).toMatchObject({ status: 500, replayed: false, body: { error: { type: 'api_error' } } });

    const replayed = await create(orderId, `checkout:${orderId}:1`);
    expect(replayed).toMatchObject({ status: 500, replayed: true, body: failed.body });
    expect(await fake.sessionsOf(orderId)).toEqual([]);

    const created = await create(orderId, `checkout:${orderId}:2`);
    expect(created).toMatchObject({ status: 200, replayed: false });
    expect(await fake.sessionsOf(orderId)).toEqual([created.body.id]);
  });

  it('refuses the key of an answered error with other parameters: 400 idempotency_error', async () => {
    const orderId = randomUUID();
    await fake.fail('status');
    await create(orderId, `checkout:${orderId}:1`);
    const other = await create(orderId, `checkout:${orderId}:1`, { email: 'other@example.com' });
    expect(other).toMatchObject({ status: 400, body: { error: { type: 'idempotency_error' } } });
    expect(await fake.sessionsOf(orderId)).toEqual([]);
  });

  it('keeps nothing for a request that hung before the endpoint ran: the same key then creates', async () => {
    const orderId = randomUUID();
    await fake.fail('timeout');
    await expect(create(orderId, `checkout:${orderId}:1`, { timeoutMs: 500 })).rejects.toThrow();
    expect(await fake.sessionsOf(orderId)).toEqual([]);

    const retried = await create(orderId, `checkout:${orderId}:1`);
    expect(retried).toMatchObject({ status: 200, replayed: false });
    expect(await fake.sessionsOf(orderId)).toEqual([retried.body.id]);
  });

  it('saves the work of a dropped answer: the same key gets the one session made', async () => {
    const orderId = randomUUID();
    await fake.fail('drop_response');
    await expect(create(orderId, `checkout:${orderId}:1`)).rejects.toThrow();
    const made = await fake.sessionsOf(orderId);
    expect(made).toHaveLength(1);

    const retried = await create(orderId, `checkout:${orderId}:1`);
    expect(retried).toMatchObject({ status: 200, replayed: true, body: { id: made[0] } });
    expect(await fake.sessionsOf(orderId)).toEqual(made);
  });
});

describe('Sandbox fault switches', () => {
  let sandbox: TestSandbox;
  let stripe: Stripe;
  beforeAll(async () => {
    sandbox = await startTestSandbox();
    stripe = sandbox.stripe;
  });
  afterAll(() => sandbox.close());
  afterEach(() => clearSandboxFaults(sandbox.baseUrl));

  const sessionsOf = async (orderId: string) =>
    (await stripe.checkout.sessions.list({ limit: 100 })).data.filter(
      (s) => s.client_reference_id === orderId,
    );
  const create = (orderId: string, key: string) =>
    call(sandbox.baseUrl, 'POST', '/v1/checkout/sessions', { body: sessionForm(orderId), key });
  const admin = (method: string, body?: unknown) =>
    fetch(`${sandbox.baseUrl}/_sandbox/faults`, {
      method,
      headers: body === undefined ? {} : { 'Content-Type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });

  it('applies a status fault to the next `count` calls, then lets calls through', async () => {
    const orderId = randomUUID();
    await setSandboxFault(sandbox.baseUrl, {
      operation: 'checkout.sessions.create',
      fault: 'status',
      status: 503,
      count: 2,
    });
    expect(await sandboxFaults(sandbox.baseUrl)).toEqual([
      { operation: 'checkout.sessions.create', fault: 'status', status: 503, remaining: 2 },
    ]);
    expect((await create(orderId, `${orderId}:1`)).status).toBe(503);
    expect((await create(orderId, `${orderId}:2`)).status).toBe(503);
    expect(await sandboxFaults(sandbox.baseUrl)).toEqual([]);
    expect((await create(orderId, `${orderId}:3`)).status).toBe(200);
    expect((await sessionsOf(orderId)).map((s) => s.metadata)).toEqual([{ orderId }]);
  });

  it('the SDK retrying an answered 500 with its key gets the replay, and reports the error', async () => {
    const retrying = new Stripe(SANDBOX_SECRET_KEY, {
      host: '127.0.0.1',
      port: Number(new URL(sandbox.baseUrl).port),
      protocol: 'http',
      maxNetworkRetries: 2,
      telemetry: false,
    });
    const orderId = randomUUID();
    await setSandboxFault(sandbox.baseUrl, {
      operation: 'checkout.sessions.create',
      fault: 'status',
      status: 500,
    });
    const error = await retrying.checkout.sessions
      .create(
        {
          mode: 'payment',
          line_items: [
            { price_data: { currency: 'usd', unit_amount: 900, product_data: { name: 'Mug' } }, quantity: 1 },
          ],
          success_url: 'http://localhost:3000/s',
          client_reference_id: orderId,
        },
        { idempotencyKey: `checkout:${orderId}:1` },
      )
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Stripe.errors.StripeAPIError);
    expect(error).toMatchObject({ statusCode: 500 });
    expect((error as Stripe.errors.StripeError).headers?.['idempotent-replayed']).toBe('true');
    expect(await sessionsOf(orderId)).toEqual([]);
  });

  it('replays an error the endpoint itself answered (expiring a session that is not open)', async () => {
    const session = await stripe.checkout.sessions.create({
      mode: 'payment',
      line_items: [
        { price_data: { currency: 'usd', unit_amount: 900, product_data: { name: 'Mug' } }, quantity: 1 },
      ],
      success_url: 'http://localhost:3000/s',
    });
    await stripe.checkout.sessions.expire(session.id);
    const key = randomUUID();
    const refused = await call(sandbox.baseUrl, 'POST', `/v1/checkout/sessions/${session.id}/expire`, {
      key,
    });
    expect(refused).toMatchObject({ status: 400, replayed: false });
    expect(refused.body.error?.type).toBe('invalid_request_error');
    const again = await call(sandbox.baseUrl, 'POST', `/v1/checkout/sessions/${session.id}/expire`, {
      key,
    });
    expect(again).toMatchObject({ status: 400, replayed: true, body: refused.body });
  });

  it('answers 409 idempotency_key_in_use while a request with the key executes, then replays its result', async () => {
    const orderId = randomUUID();
    const key = `checkout:${orderId}:1`;
    await setSandboxFault(sandbox.baseUrl, {
      operation: 'checkout.sessions.create',
      fault: 'slow',
      seconds: 2,
    });
    const first = create(orderId, key);
    // The fault is taken once the first request holds the key.
    await waitFor(async () => (await sandboxFaults(sandbox.baseUrl)).length === 0, 'the slow request');
    const concurrent = await create(orderId, key);
    expect(concurrent).toMatchObject({
      status: 409,
      body: { error: { type: 'idempotency_error', code: 'idempotency_key_in_use' } },
    });
    expect(concurrent.headers.get('stripe-should-retry')).toBe('true');

    const done = await first;
    expect(done).toMatchObject({ status: 200, replayed: false });
    const after = await create(orderId, key);
    expect(after).toMatchObject({ status: 200, replayed: true, body: { id: done.body.id } });
    expect((await sessionsOf(orderId)).map((s) => s.id)).toEqual([done.body.id]);
  });

  it('holds a timed-out call until the SDK gives up, having created nothing', async () => {
    const impatient = new Stripe(SANDBOX_SECRET_KEY, {
      host: '127.0.0.1',
      port: Number(new URL(sandbox.baseUrl).port),
      protocol: 'http',
      maxNetworkRetries: 0,
      timeout: 500,
      telemetry: false,
    });
    const orderId = randomUUID();
    await setSandboxFault(sandbox.baseUrl, { operation: 'checkout.sessions.create', fault: 'timeout' });
    const error = await impatient.checkout.sessions
      .create(
        {
          mode: 'payment',
          line_items: [
            { price_data: { currency: 'usd', unit_amount: 900, product_data: { name: 'Mug' } }, quantity: 1 },
          ],
          success_url: 'http://localhost:3000/s',
          client_reference_id: orderId,
        },
        { idempotencyKey: `checkout:${orderId}:1` },
      )
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Stripe.errors.StripeConnectionError);
    expect(await sessionsOf(orderId)).toEqual([]);
  });

  it('drops the answer of an expiry after doing it: the session is expired, the same key replays it', async () => {
    const session = await stripe.checkout.sessions.create({
      mode: 'payment',
      line_items: [
        { price_data: { currency: 'usd', unit_amount: 900, product_data: { name: 'Mug' } }, quantity: 1 },
      ],
      success_url: 'http://localhost:3000/s',
    });
    await setSandboxFault(sandbox.baseUrl, { operation: 'checkout.sessions.expire', fault: 'drop_response' });
    const key = randomUUID();
    const path = `/v1/checkout/sessions/${session.id}/expire`;
    await expect(call(sandbox.baseUrl, 'POST', path, { key })).rejects.toThrow();
    expect((await stripe.checkout.sessions.retrieve(session.id)).status).toBe('expired');
    const retried = await call(sandbox.baseUrl, 'POST', path, { key });
    expect(retried).toMatchObject({
      status: 200,
      replayed: true,
      body: { id: session.id, status: 'expired' },
    });
  });

  it('applies to reads too: a retrieve answers 500 once, then the session', async () => {
    const session = await stripe.checkout.sessions.create({
      mode: 'payment',
      line_items: [
        { price_data: { currency: 'usd', unit_amount: 900, product_data: { name: 'Mug' } }, quantity: 1 },
      ],
      success_url: 'http://localhost:3000/s',
    });
    await setSandboxFault(sandbox.baseUrl, {
      operation: 'checkout.sessions.retrieve',
      fault: 'status',
      status: 500,
    });
    const failed = await call(sandbox.baseUrl, 'GET', `/v1/checkout/sessions/${session.id}`);
    expect(failed).toMatchObject({ status: 500, body: { error: { type: 'api_error' } } });
    const retrieved = await call(sandbox.baseUrl, 'GET', `/v1/checkout/sessions/${session.id}`);
    expect(retrieved).toMatchObject({ status: 200, body: { id: session.id } });
  });

  it('refuses an unknown operation, fault, parameter or value with 400 naming it, and adds nothing', async () => {
    const cases: [unknown, string][] = [
      [{ operation: 'checkout.sessions.explode', fault: 'status', status: 500 }, 'operation'],
      [{ operation: 'checkout.sessions.create', fault: 'fire' }, 'fault'],
      [{ operation: 'checkout.sessions.create', fault: 'status' }, 'status'],
      [{ operation: 'checkout.sessions.create', fault: 'status', status: 200 }, 'status'],
      [{ operation: 'checkout.sessions.create', fault: 'timeout', status: 500 }, 'status'],
      [{ operation: 'checkout.sessions.create', fault: 'slow' }, 'seconds'],
      [{ operation: 'checkout.sessions.create', fault: 'timeout', count: 0 }, 'count'],
      [{ operation: 'checkout.sessions.create', fault: 'timeout', when: 'later' }, 'when'],
      [['checkout.sessions.create'], 'body'],
    ];
    for (const [body, param] of cases) {
      const response = await admin('POST', body);
      expect({ body, status: response.status }).toEqual({ body, status: 400 });
      const answer = (await response.json()) as { error: { param: string; message: string } };
      expect({ body, param: answer.error.param }).toEqual({ body, param });
    }
    expect(await sandboxFaults(sandbox.baseUrl)).toEqual([]);
  });

  it('lists the operations it knows by their SDK names, and DELETE switches every fault off', async () => {
    const listed = (await (await admin('GET')).json()) as { operations: string[] };
    expect(listed.operations).toEqual(
      expect.arrayContaining([
        'checkout.sessions.create',
        'checkout.sessions.expire',
        'checkout.sessions.retrieve',
        'checkout.sessions.list',
      ]),
    );
    await setSandboxFault(sandbox.baseUrl, { operation: 'checkout.sessions.create', fault: 'timeout' });
    await setSandboxFault(sandbox.baseUrl, { operation: 'checkout.sessions.expire', fault: 'drop_response' });
    expect(await sandboxFaults(sandbox.baseUrl)).toHaveLength(2);
    expect((await admin('DELETE')).status).toBe(200);
    expect(await sandboxFaults(sandbox.baseUrl)).toEqual([]);
    const orderId = randomUUID();
    expect((await create(orderId, `${orderId}:1`)).status).toBe(200);
  });
});
