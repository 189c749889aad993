import { io, type ManagerOptions, type Socket, type SocketOptions } from 'socket.io-client';

export interface StatusMessage {
  orderId: string;
  status: string;
  reason: string | null;
  updatedAt: string;
}

export type SubscribeAck =
  { ok: true; order: StatusMessage } | { ok: false; error: { code: string; message: string } };

export interface Refusal {
  message: string;
  data?: unknown;
}

type Options = Partial<ManagerOptions & SocketOptions>;

/**
 * A socket.io-client on the `/orders` namespace that records every `order.status` it hears, so that
 * a test can wait for one (with a timeout, never a sleep) and then look at all of them.
 */
export class OrdersClient {
  readonly statuses: StatusMessage[] = [];
  private readonly waiters = new Set<() => void>();

  private constructor(readonly socket: Socket) {
    socket.on('order.status', (message: StatusMessage) => {
      this.statuses.push(message);
      for (const wake of this.waiters) wake();
    });
  }

  /** Connects with `auth` and resolves once connected; rejects with the refusal otherwise. */
  static async connect(baseUrl: string, auth: unknown, options: Options = {}): Promise<OrdersClient> {
    const client = new OrdersClient(open(baseUrl, auth, options));
    try {
      await client.connected();
    } catch (error) {
      client.close();
      throw error;
    }
    return client;
  }

  /** Connects with `auth` and resolves with the refusal (`connect_error`); fails if it was admitted. */
  static async refusal(baseUrl: string, auth: unknown, options: Options = {}): Promise<Refusal> {
    const client = new OrdersClient(open(baseUrl, auth, options));
    try {
      await client.connected();
    } catch (error) {
      const { message, data } = error as Refusal;
      return { message, data };
    } finally {
      client.close();
    }
    throw new Error('the connection was admitted');
  }

  /** The first `order.status` (heard already or still to come) that matches, within `timeoutMs`. */
  async status(
    match: (message: StatusMessage) => boolean,
    timeoutMs = 5000,
    what: () => string = () => 'an order.status',
  ): Promise<StatusMessage> {
    return whenWoken(
      () => this.statuses.find(match),
      (wake) => {
        this.waiters.add(wake);
        return () => this.waiters.delete(wake);
      },
      timeoutMs,
      what,
    );
  }

  /** Waits for `order.status` with this order id and status. */
  async heard(orderId: string, status: string, timeoutMs = 5000): Promise<StatusMessage> {
    return this.status(
      (message) => message.orderId === orderId && message.status === status,
      timeoutMs,
      () => `order.status ${status} for ${orderId} (heard: ${JSON.stringify(this.statuses)})`,
    );
  }

  async subscribe(body: unknown, timeoutMs = 5000): Promise<SubscribeAck> {
    return (await this.socket.timeout(timeoutMs).emitWithAck('orders.subscribe', body)) as SubscribeAck;
  }

  /** Resolves on the next `connect`; rejects on `connect_error`. */
  connected(timeoutMs = 10_000): Promise<void> {
    if (this.socket.connected) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => finish(new Error('no connect within the timeout')), timeoutMs);
      const finish = (error?: Error) => {
        clearTimeout(timer);
        this.socket.off('connect', onConnect);
        this.socket.off('connect_error', finish);
        if (error) reject(error);
        else resolve();
      };
      const onConnect = () => finish();
      this.socket.on('connect', onConnect);
      this.socket.on('connect_error', finish);
    });
  }

  /** Resolves on the next `disconnect`, with its reason. */
  disconnected(timeoutMs = 10_000): Promise<string> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no disconnect within the timeout')), timeoutMs);
      this.socket.once('disconnect', (reason) => {
        clearTimeout(timer);
        resolve(reason);
      });
    });
  }

  close(): void {
    this.socket.close();
  }
}

function open(baseUrl: string, auth: unknown, options: Options): Socket {
  return io(`${baseUrl}/orders`, {
    auth: auth as Record<string, unknown>,
    forceNew: true,
    reconnection: false,
    ...options,
  });
}

/**
 * Resolves with the first defined value of `probe`, re-checked whenever `subscribe`'s callback
 * fires, or rejects after `timeoutMs` naming `what`.
 */
function whenWoken<T>(
  probe: () => T | undefined,
  subscribe: (wake: () => void) => () => void,
  timeoutMs: number,
  what: () => string,
): Promise<T> {
  const found = probe();
  if (found !== undefined) return Promise.resolve(found);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      unsubscribe();
      reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what()}`));
    }, timeoutMs);
    const unsubscribe = subscribe(() => {
      const value = probe();
      if (value === undefined) return;
      clearTimeout(timer);
      unsubscribe();
      resolve(value);
    });
  });
}
