import request from 'supertest';
import { io } from 'socket.io-client';
import { Order } from '../../src/orders/order.entity';
import { AppConfig } from '../../src/config';
import { OrdersReader } from '../../src/orders';
import { createTestApp, type TestApp } from '../support/app';
import { truncateAll } from '../support/db';
import { placeOrder, type PlacedOrderBody } from '../support/factories';
import { OrdersClient, type StatusMessage } from '../support/sockets';

const UNKNOWN_ID = '00000000-0000-4000-8000-000000000000';
const REFUSED = {
  message: 'Order not found',
  data: { code: 'ORDERS.NOT_FOUND', message: 'Order not found' },
};
const BY_WEBHOOK = { kind: 'webhook', ref: 'evt_test' } as const;

describe('Live order status over Socket.IO (/orders)', () => {
  let t: TestApp;
  let url: string;
  const clients: OrdersClient[] = [];

  beforeAll(async () => {
    t = await createTestApp({ listen: true, env: { CORS_ORIGINS: 'https://shop.example' } });
    url = await t.app.getUrl();
  });
  afterAll(() => t.close());
  beforeEach(() => truncateAll(t.orm));
  afterEach(() => {
    for (const client of clients.splice(0)) client.close();
  });

  const connect = async (auth: unknown, options = {}) => {
    const client = await OrdersClient.connect(url, auth, options);
    clients.push(client);
    return client;
  };
  const follow = (order: PlacedOrderBody) => connect({ orderId: order.id, token: order.accessToken });
  const cancel = (order: PlacedOrderBody) =>
    request(t.http())
      .post(`/api/orders/${order.id}/cancel`)
      .set('Authorization', `Bearer ${order.accessToken}`)
      .expect(200);
  /** A transition as payments will make it: through the aggregate, in a transaction of its own. */
  const change = (order: PlacedOrderBody, apply: (order: Order) => void) =>
    t.orm.em.fork().transactional(async (em) => apply(await em.findOneOrFail(Order, order.id)));

  describe('joining', () => {
    it('sends the current status at once, and only that', async () => {
      const order = await placeOrder(t);
      const client = await follow(order);

      const snapshot = await client.heard(order.id, 'pending');
      expect(snapshot).toEqual({
        orderId: order.id,
        status: 'pending',
        reason: null,
        updatedAt: expect.any(String),
      });
      expect(new Date(snapshot.updatedAt).toISOString()).toBe(snapshot.updatedAt);
      expect(client.statuses).toHaveLength(1);
    });

    it('sends the status the order has now, with its reason', async () => {
      const order = await placeOrder(t);
      await change(order, (o) => o.markFailed('Your card was declined.', BY_WEBHOOK));

      const client = await follow(order);
      expect(await client.heard(order.id, 'failed')).toMatchObject({ reason: 'Your card was declined.' });
    });

    it('still sends the status, and then the pushes, when the database fails the read after admission', async () => {
      const order = await placeOrder(t);
      const read = OrdersReader.prototype.getForCustomer;
      let reads = 0;
      // The handshake's read succeeds; the read after joining the room and its first retry fail, as
      // reads do while PostgreSQL restarts.
      const failing = jest.spyOn(OrdersReader.prototype, 'getForCustomer').mockImplementation(function (
        this: OrdersReader,
        id,
        token,
      ) {
        reads++;
        if (reads === 2 || reads === 3)
          return Promise.reject(new Error('Connection terminated unexpectedly'));
        return read.call(this, id, token);
      });
      try {
        const client = await follow(order);
        await client.heard(order.id, 'pending', 30_000);
        expect(reads).toBe(4);
        await cancel(order);
        await client.heard(order.id, 'canceled', 30_000);
      } finally {
        failing.mockRestore();
      }
    });
  });

  describe('pushes', () => {
    it('pushes every transition to the order’s followers, in order, with the reason', async () => {
      const order = await placeOrder(t);
      const client = await follow(order);
      await client.heard(order.id, 'pending');

      await change(order, (o) => o.markProcessing('Bank transfer on its way', BY_WEBHOOK));
      await client.heard(order.id, 'processing');
      await change(order, (o) => o.markFailed('The bank refused the debit.', BY_WEBHOOK));
      await client.heard(order.id, 'failed');
      await change(order, (o) => o.startCheckout({ kind: 'api' }));
      await client.status((m) => m.status === 'pending' && client.statuses.indexOf(m) > 0);
      await change(order, (o) => o.markPaid('Payment confirmed', BY_WEBHOOK));
      await client.heard(order.id, 'paid');

      expect(client.statuses.map(({ status, reason }) => [status, reason])).toEqual([
        ['pending', null],
        ['processing', 'Bank transfer on its way'],
        ['failed', 'The bank refused the debit.'],
        ['pending', null],
        ['paid', null],
      ]);
      const times = client.statuses.map((m) => Date.parse(m.updatedAt));
      expect([...times].sort((a, b) => a - b)).toEqual(times);
    });

    it('pushes a cancellation made through the API, to every follower of that order', async () => {
      const order = await placeOrder(t);
      const first = await follow(order);
      const second = await follow(order);

      await cancel(order);

      for (const client of [first, second]) {
        expect(await client.heard(order.id, 'canceled')).toMatchObject({
          reason: 'Canceled by the customer',
        });
      }
    });

    it('pushes nothing when nothing changes', async () => {
      const order = await placeOrder(t);
      const client = await follow(order);
      await change(order, (o) => o.markPaid('Payment confirmed', BY_WEBHOOK));
      await client.heard(order.id, 'paid');

      // A late decline after payment is recorded in history and changes nothing the customer sees.
      await change(order, (o) => o.markFailed('Your card was declined.', BY_WEBHOOK));
      const ack = await client.subscribe({ orderId: order.id, token: order.accessToken });
      expect(ack).toMatchObject({ ok: true, order: { status: 'paid' } });
      await client.status((m) => m.status === 'paid' && client.statuses.indexOf(m) === 2);
      expect(client.statuses.map((m) => m.status)).toEqual(['pending', 'paid', 'paid']);
    });
  });

  describe('isolation', () => {
    it('a follower of order A never hears order B', async () => {
      const a = await placeOrder(t);
      const b = await placeOrder(t);
      const clientA = await follow(a);
      const clientB = await follow(b);

      await cancel(b);
      await clientB.heard(b.id, 'canceled');
      // A's own push is emitted after B's; had B's reached A's socket, it would have arrived first.
      await cancel(a);
      await clientA.heard(a.id, 'canceled');

      expect(clientA.statuses.map((m) => m.orderId)).toEqual([a.id, a.id]);
      expect(clientB.statuses.map((m) => m.orderId)).toEqual([b.id, b.id]);
    });
  });

  describe('refusals', () => {
    it('answers an unknown order, a wrong token, no token and malformed handshakes with one refusal', async () => {
      const order = await placeOrder(t);
      const other = await placeOrder(t);
      const handshakes: [string, unknown][] = [
        ['an unknown order', { orderId: UNKNOWN_ID, token: order.accessToken }],
        ['another order’s token', { orderId: order.id, token: other.accessToken }],
        ['a wrong token', { orderId: order.id, token: 'x'.repeat(43) }],
        ['no token', { orderId: order.id }],
        ['an empty token', { orderId: order.id, token: '' }],
        ['no auth at all', undefined],
        ['an empty auth', {}],
        ['a malformed order id', { orderId: 'not-a-uuid', token: order.accessToken }],
        ['an order id of the wrong type', { orderId: 42, token: order.accessToken }],
        ['a token of the wrong type', { orderId: order.id, token: { $ne: null } }],
        ['an overlong token', { orderId: order.id, token: 'a'.repeat(2000) }],
      ];
      for (const [name, auth] of handshakes) {
        const refusal = await OrdersClient.refusal(url, auth);
        expect([name, refusal]).toEqual([name, REFUSED]);
      }
    });

    it('refuses a subscription with the same answer, and the socket joins nothing', async () => {
      const mine = await placeOrder(t);
      const theirs = await placeOrder(t);
      const client = await follow(mine);

      const answers = await Promise.all([
        client.subscribe({ orderId: theirs.id, token: mine.accessToken }),
        client.subscribe({ orderId: theirs.id }),
        client.subscribe({ orderId: UNKNOWN_ID, token: theirs.accessToken }),
      ]);
      for (const answer of answers) {
        expect(answer).toEqual({ ok: false, error: REFUSED.data });
      }

      await cancel(theirs);
      await cancel(mine);
      await client.heard(mine.id, 'canceled');
      expect(client.statuses.every((m) => m.orderId === mine.id)).toBe(true);
    });
  });

  describe('(re)subscribing', () => {
    it('gives the current status to a client that missed pushes while disconnected', async () => {
      const order = await placeOrder(t);
      const client = await follow(order);
      await client.heard(order.id, 'pending');

      client.socket.disconnect();
      await cancel(order);
      client.socket.connect();
      await client.connected();

      expect(await client.heard(order.id, 'canceled')).toMatchObject({ reason: 'Canceled by the customer' });
      expect(client.statuses.map((m) => m.status)).toEqual(['pending', 'canceled']);
    });

    it('acknowledges orders.subscribe with the current status, and sends it as order.status too', async () => {
      const order = await placeOrder(t);
      const client = await follow(order);
      await client.heard(order.id, 'pending');
      await cancel(order);
      await client.heard(order.id, 'canceled');

      const ack = await client.subscribe({ orderId: order.id, token: order.accessToken });

      expect(ack).toEqual({
        ok: true,
        order: {
          orderId: order.id,
          status: 'canceled',
          reason: 'Canceled by the customer',
          updatedAt: expect.any(String),
        },
      });
      await client.status((m) => m.status === 'canceled' && client.statuses.indexOf(m) === 2);
    });

    it('lets one socket follow a second order it holds the token of', async () => {
      const first = await placeOrder(t);
      const second = await placeOrder(t);
      const client = await follow(first);

      expect(await client.subscribe({ orderId: second.id, token: second.accessToken })).toMatchObject({
        ok: true,
        order: { orderId: second.id, status: 'pending' },
      });
      await cancel(second);
      await client.heard(second.id, 'canceled');
    });
  });

  describe('hostile or broken clients', () => {
    it('survives malformed messages, answering each subscription with the refusal', async () => {
      const order = await placeOrder(t);
      const client = await follow(order);
      const payloads = [undefined, null, 'orders', 42, true, [], [order.id, order.accessToken], { orderId: order.id, token: ['x'] }, { orderId: { toString: 1 }, token: order.accessToken }, 'x'.repeat(3000)]; // prettier-ignore

      for (const payload of payloads) {
        expect(await client.subscribe(payload)).toEqual({ ok: false, error: REFUSED.data });
      }
      // No acknowledgement asked for, an event nobody handles, several arguments.
      client.socket.emit('orders.subscribe', { orderId: order.id, token: order.accessToken });
      client.socket.emit('no.such.event', { a: 1 });
      client.socket.emit('orders.subscribe', 1, 2, 3);
      client.socket.emit('orders.subscribe', Buffer.from('binary'));

      // Still served, in order: the unacknowledged subscription's snapshot, then a push.
      await client.status((m) => m.status === 'pending' && client.statuses.indexOf(m) === 1);
      await cancel(order);
      await client.heard(order.id, 'canceled');
      expect(client.socket.connected).toBe(true);
    });

    it('closes the connection of a client that sends a message over the size cap, and only that one', async () => {
      const order = await placeOrder(t);
      const bystander = await follow(order);
      for (const transports of [['websocket'], ['polling']]) {
        const client = await connect({ orderId: order.id, token: order.accessToken }, { transports });
        const gone = client.disconnected();
        client.socket.emit('orders.subscribe', { orderId: order.id, token: 'x'.repeat(10 * 1024) });
        expect(await gone).toMatch(/transport (close|error)/);
      }

      await cancel(order);
      await bystander.heard(order.id, 'canceled');
    });

    it('closes the connection of a client that sends a packet that does not parse', async () => {
      const order = await placeOrder(t);
      const client = await connect(
        { orderId: order.id, token: order.accessToken },
        { transports: ['websocket'] },
      );
      const gone = client.disconnected();
      // A raw Engine.IO message that is not a Socket.IO packet.
      (client.socket.io.engine as unknown as { write(data: string): void }).write('42["orders.subscribe",');
      expect(await gone).toMatch(/transport close|parse error/);

      await request(t.http()).get('/api/health').expect(200);
      const next = await follow(order);
      await next.heard(order.id, 'pending');
    });
  });

  describe('origins', () => {
    const handshake = (origin?: string) => {
      const call = request(t.http()).get('/socket.io/').query({ EIO: 4, transport: 'polling' });
      return origin ? call.set('Origin', origin) : call;
    };

    it('admits the configured origins, PUBLIC_URL, the service’s own host and non-browser clients', async () => {
      const own = new URL(url).origin;
      for (const origin of ['https://shop.example', t.app.get(AppConfig).publicUrl, own, undefined]) {
        const response = await handshake(origin).expect(200);
        expect(response.text).toContain('"sid"');
      }
      const cors = await handshake('https://shop.example').expect(200);
      expect(cors.headers['access-control-allow-origin']).toBe('https://shop.example');
    });

    it('refuses any other origin, over long-polling and WebSocket alike', async () => {
      for (const origin of ['https://evil.example', 'null', 'http://localhost:3000.evil.example']) {
        const response = await handshake(origin).expect(403);
        expect(response.body).toMatchObject({ code: 4, message: 'Origin not allowed' });
      }

      const order = await placeOrder(t);
      for (const transports of [['websocket'], ['polling']]) {
        const socket = io(`${url}/orders`, {
          auth: { orderId: order.id, token: order.accessToken },
          forceNew: true,
          reconnection: false,
          transports,
          extraHeaders: { Origin: 'https://evil.example' },
        });
        const outcome = await new Promise<string>((resolve) => {
          socket.on('connect', () => resolve('connected'));
          socket.on('connect_error', () => resolve('refused'));
        });
        socket.close();
        expect([transports, outcome]).toEqual([transports, 'refused']);
      }
    });
  });

  it('keeps its payload to four fields', async () => {
    const order = await placeOrder(t);
    const client = await follow(order);
    const message: StatusMessage = await client.heard(order.id, 'pending');
    expect(Object.keys(message).sort()).toEqual(['orderId', 'reason', 'status', 'updatedAt']);
  });
});
