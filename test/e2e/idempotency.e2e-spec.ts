import { createHash, randomUUID } from 'node:crypto';
import request from 'supertest';
import { IdempotencyStore } from '../../src/shared/idempotency/idempotency.store';
import { createTestApp, type TestApp } from '../support/app';
import { countRows, truncateAll } from '../support/db';
import { type PlacedOrderBody, productBySku } from '../support/factories';
import { stubStripeEnv } from '../support/payments';
import { callService, catalog } from '../support/service-api';
import { type ServiceProcess, startService } from '../support/service-process';
import { StripeStub } from '../support/stripe-stub';
import { waitFor } from '../support/wait';

/**
 * `Idempotency-Key` on POST /api/orders, /checkout and /cancel, with Stripe's semantics: replay,
 * 422 for another body, 409 while in flight, scoped to route and caller; then across two processes.
 */
describe('Idempotency-Key', () => {
  let t: TestApp;
  const stub = new StripeStub();
  let body: { customerEmail: string; items: { productId: string; quantity: number }[] };

  beforeAll(async () => {
    await stub.start();
    t = await createTestApp({ env: { ...stubStripeEnv(stub), STRIPE_TIMEOUT_MS: '5000' } });
    body = {
      customerEmail: 'buyer@example.com',
      items: [{ productId: (await productBySku(t, 'BEANS-250')).id, quantity: 2 }],
    };
  });
  afterAll(async () => {
    await t.close();
    await stub.stop();
  });
  beforeEach(async () => {
    stub.reset();
    await truncateAll(t.orm);
  });

  const place = (key: string | undefined, payload: object = body) => {
    const call = request(t.http()).post('/api/orders');
    if (key !== undefined) call.set('Idempotency-Key', key);
    return call.send(payload);
  };
  const onOrder = (
    order: PlacedOrderBody,
    action: 'checkout' | 'cancel',
    key: string,
    token = order.accessToken,
  ) =>
    request(t.http())
      .post(`/api/orders/${order.id}/${action}`)
      .set('Authorization', `Bearer ${token}`)
      .set('Idempotency-Key', key);

  it('the same key and body: the first response again, and one order', async () => {
    const key = randomUUID();
    const first = await place(key).expect(201);
    expect(first.headers['idempotent-replayed']).toBeUndefined();
    const again = await place(key).expect(201);
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(again.body).toEqual(first.body);
    expect(await countRows(t.orm, 'orders')).toBe(1);
    // Fields in another order are the same body.
    await place(key, { items: body.items, customerEmail: body.customerEmail }).expect(201);
    expect(await countRows(t.orm, 'orders')).toBe(1);
  });

  it('without a key, each request is its own (two orders)', async () => {
    await place(undefined).expect(201);
    await place(undefined).expect(201);
    expect(await countRows(t.orm, 'orders')).toBe(2);
  });

  it('the same key with another body: 422, nothing created', async () => {
    const key = randomUUID();
    await place(key).expect(201);
    const other = await place(key, { ...body, customerEmail: 'someone@example.com' }).expect(422);
    expect(other.body).toMatchObject({ statusCode: 422, code: 'IDEMPOTENCY.KEY_REUSED' });
    expect(await countRows(t.orm, 'orders')).toBe(1);
  });

  it('five at once with one key: one order; the others replay it or are told it is in flight', async () => {
    const key = randomUUID();
    const answers = await Promise.all(Array.from({ length: 5 }, () => place(key)));
    const created = answers.filter((a) => a.status === 201);
    expect(answers.every((a) => a.status === 201 || a.status === 409)).toBe(true);
    expect(new Set(created.map((a) => (a.body as PlacedOrderBody).id)).size).toBe(1);
    for (const refused of answers.filter((a) => a.status === 409)) {
      expect(refused.body).toMatchObject({ code: 'IDEMPOTENCY.IN_FLIGHT' });
    }
    expect(await countRows(t.orm, 'orders')).toBe(1);
  });

  it('a key still in flight: 409; then the first answer is replayed', async () => {
    const order = (await place(undefined).expect(201)).body as PlacedOrderBody;
    const key = randomUUID();
    stub.hangNext(); // Stripe keeps the first call waiting (the SDK then retries it, and succeeds)
    const first = onOrder(order, 'checkout', key).then((r) => r);
    await waitFor(() => stub.creations().length === 1, 'the first checkout to reach Stripe');
    const second = await onOrder(order, 'checkout', key).expect(409);
    expect(second.body).toMatchObject({ statusCode: 409, code: 'IDEMPOTENCY.IN_FLIGHT' });
    const answered = await first;
    expect(answered.status).toBe(201);
    const replayed = await onOrder(order, 'checkout', key).expect(201);
    expect(replayed.headers['idempotent-replayed']).toBe('true');
    expect(replayed.body).toEqual(answered.body);
  });

  it('a failure on our side (502) keeps nothing: the same key runs again', async () => {
    const order = (await place(undefined).expect(201)).body as PlacedOrderBody;
    const key = randomUUID();
    stub.failNext(500);
    stub.failNext(500); // the SDK's own retry
    await onOrder(order, 'checkout', key).expect(502);
    const retried = await onOrder(order, 'checkout', key).expect(201);
    expect(retried.headers['idempotent-replayed']).toBeUndefined();
    expect(stub.sessions.size).toBe(1);
  });

  it('an answered refusal is replayed too (409 for a canceled order), with its body', async () => {
    const order = (await place(undefined).expect(201)).body as PlacedOrderBody;
    const cancelKey = randomUUID();
    const canceled = await onOrder(order, 'cancel', cancelKey).expect(200);
    expect((await onOrder(order, 'cancel', cancelKey).expect(200)).body).toEqual(canceled.body);
    const key = randomUUID();
    const refused = await onOrder(order, 'checkout', key).expect(409);
    const again = await onOrder(order, 'checkout', key).expect(409);
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(again.body).toEqual(refused.body);
  });

  it('a key is scoped to its route and caller: nobody replays someone else’s response', async () => {
    const mine = (await place(undefined).expect(201)).body as PlacedOrderBody;
    const theirs = (await place(undefined).expect(201)).body as PlacedOrderBody;
    const key = randomUUID();
    await onOrder(mine, 'cancel', key).expect(200);
    // The same key on another order, or with another token: not a replay.
    const other = await onOrder(theirs, 'cancel', key).expect(200);
    expect(other.headers['idempotent-replayed']).toBeUndefined();
    expect(other.body.id).toBe(theirs.id);
    const stranger = await onOrder(mine, 'cancel', key, 'not-the-token').expect(404);
    expect(stranger.headers['idempotent-replayed']).toBeUndefined();
    // The same key on order creation is yet another scope.
    expect((await place(key).expect(201)).headers['idempotent-replayed']).toBeUndefined();
  });

  it('keeps a key under its route pattern, parameters and caller, as keys were always kept', async () => {
    const order = (await place(undefined).expect(201)).body as PlacedOrderBody;
    const key = randomUUID();
    await onOrder(order, 'cancel', key).expect(200);
    // Keys stored before a deploy must still be found after it: the scope is part of the hash.
    const scope = [
      'POST',
      '/api/orders/:id/cancel',
      JSON.stringify({ id: order.id }),
      createHash('sha256').update(order.accessToken, 'utf8').digest('hex'),
    ].join(' ');
    const rows = await t
      .em()
      .getConnection()
      .execute<{ key_hash: string }[]>(`select key_hash from idempotency_keys`);
    expect(rows.map((row) => row.key_hash)).toEqual([IdempotencyStore.keyHash(scope, key)]);
  });

  it('a route without @Idempotent() ignores the header: nothing claimed, nothing replayed', async () => {
    const order = (await place(undefined).expect(201)).body as PlacedOrderBody;
    const key = randomUUID();
    for (let i = 0; i < 2; i++) {
      const read = await request(t.http())
        .get(`/api/orders/${order.id}`)
        .set('Authorization', `Bearer ${order.accessToken}`)
        .set('Idempotency-Key', key)
        .expect(200);
      expect(read.headers['idempotent-replayed']).toBeUndefined();
    }
    expect(await countRows(t.orm, 'idempotency_keys')).toBe(0);
  });

  it('a request refused as invalid keeps nothing: the key then works with a valid body', async () => {
    const key = randomUUID();
    await place(key, { customerEmail: 'nope', items: [] }).expect(400);
    await place(key).expect(201);
    expect(await countRows(t.orm, 'orders')).toBe(1);
  });

  it('a malformed key is a 400 in the error shape', async () => {
    const answer = await place('x'.repeat(256)).expect(400);
    expect(answer.body).toMatchObject({
      code: 'REQUEST.INVALID',
      errors: [{ field: 'Idempotency-Key', message: expect.any(String) }],
    });
    expect(await countRows(t.orm, 'orders')).toBe(0);
  });

  it('keeps the response encrypted: the table alone gives away no access token', async () => {
    const key = randomUUID();
    const placed = (await place(key).expect(201)).body as PlacedOrderBody;
    const rows = await t
      .em()
      .getConnection()
      .execute<{ key_hash: string; body: string }[]>(
        `select key_hash, encode(response_body, 'escape') as body from idempotency_keys`,
      );
    expect(rows).toHaveLength(1);
    expect(rows[0].body).not.toContain(placed.accessToken);
    expect(rows[0].body).not.toContain(placed.id);
    expect(rows[0].key_hash).not.toContain(key);
  });

  it('an order placed by a process that died before answering is not placed again on retry', async () => {
    const key = randomUUID();
    await place(key).expect(201);
    // As the row stands when the process dies after the commit and before it keeps the response,
    // and the in-flight reservation has run out.
    await t
      .em()
      .getConnection()
      .execute(
        `update idempotency_keys set status = 'in_flight', response_status = null, response_body = null,
                locked_until = now() - interval '1 second'`,
      );
    const retried = await place(key).expect(409);
    expect(retried.body).toMatchObject({ code: 'IDEMPOTENCY.OUTCOME_LOST' });
    expect(await countRows(t.orm, 'orders')).toBe(1);
  });
});

describe('Idempotency-Key and the rate limit', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ env: { RATE_LIMIT_PER_MINUTE: '1', TRUST_PROXY: '1' } });
    await truncateAll(t.orm);
  });
  afterAll(() => t.close());

  it('a request refused by the rate limit (429) keeps nothing: its key then works for another client', async () => {
    const body = {
      customerEmail: 'buyer@example.com',
      items: [{ productId: (await productBySku(t, 'BEANS-250')).id, quantity: 1 }],
    };
    const place = (client: string, key: string) =>
      request(t.http())
        .post('/api/orders')
        .set('X-Forwarded-For', client)
        .set('Idempotency-Key', key)
        .send(body);
    await place('203.0.113.7', randomUUID()).expect(201);
    const key = randomUUID();
    const limited = await place('203.0.113.7', key).expect(429);
    expect(limited.body).toMatchObject({ code: 'HTTP.TOO_MANY_REQUESTS' });
    // The 429 is sent once its key is released: only the first request's key is kept.
    expect(await countRows(t.orm, 'idempotency_keys')).toBe(1);
    const elsewhere = await place('198.51.100.4', key).expect(201);
    expect(elsewhere.headers['idempotent-replayed']).toBeUndefined();
    expect(await countRows(t.orm, 'orders')).toBe(2);
  });
});

describe('Idempotency-Key across two instances', () => {
  let a: ServiceProcess;
  let b: ServiceProcess;
  let productId: string;

  beforeAll(async () => {
    [a, b] = await Promise.all([startService({}), startService({})]);
    productId = (await catalog(a.url))[0].id;
  }, 120_000);
  afterAll(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
  });

  const placeAt = (url: string, key: string, email = 'buyer@example.com') =>
    callService<PlacedOrderBody>(
      'POST',
      `${url}/api/orders`,
      { customerEmail: email, items: [{ productId, quantity: 1 }] },
      { 'Idempotency-Key': key },
    );

  it('a key used on one instance is replayed by the other; another body is refused there', async () => {
    const key = randomUUID();
    const first = await placeAt(a.url, key);
    expect(first.status).toBe(201);
    const second = await placeAt(b.url, key);
    expect(second.status).toBe(201);
    expect(second.headers.get('idempotent-replayed')).toBe('true');
    expect(second.body).toEqual(first.body);
    expect((await placeAt(b.url, key, 'other@example.com')).status).toBe(422);
  });

  it('the same key on both instances at once: one order', async () => {
    const key = randomUUID();
    const answers = await Promise.all([a, b, a, b].map((s) => placeAt(s.url, key)));
    expect(answers.every((r) => r.status === 201 || r.status === 409)).toBe(true);
    const ids = new Set(answers.filter((r) => r.status === 201).map((r) => r.body.id));
    expect(ids.size).toBe(1);
    // And the order exists (its token opens it on either instance).
    const created = answers.find((r) => r.status === 201)!.body;
    const read = await callService('GET', `${b.url}/api/orders/${created.id}`, undefined, {
      Authorization: `Bearer ${created.accessToken}`,
    });
    expect(read.status).toBe(200);
  });
});
