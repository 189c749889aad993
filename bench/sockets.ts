import { performance } from 'node:perf_hooks';
import { io, type Socket } from 'socket.io-client';
import type { SeededOrder } from './database';
import { runPhase } from './load';

interface StatusMessage {
  orderId: string;
  status: string;
}

/**
 * Socket.IO clients following orders on `/orders`, one connection each (WebSocket transport, as a
 * browser ends up using). Notes when each order's `paid` status arrives.
 */
export class Followers {
  private readonly sockets: Socket[] = [];
  private readonly paidAt = new Map<string, number>();
  private readonly waiting = new Map<string, (at: number) => void>();

  private constructor(private readonly url: string) {}

  /** Connects a client per order, `concurrency` handshakes at a time; resolves once each got its status. */
  static async connect(url: string, orders: readonly SeededOrder[], concurrency = 50): Promise<Followers> {
    const followers = new Followers(url);
    const phase = await runPhase(orders.length, concurrency, 120, (index) => followers.follow(orders[index]));
    if (phase.completed !== orders.length) {
      followers.close();
      throw new Error(`Only ${phase.completed} of ${orders.length} Socket.IO clients connected in time`);
    }
    return followers;
  }

  get size(): number {
    return this.sockets.length;
  }

  /** When the order's `paid` push arrived (performance.now() ms), waiting at most `timeoutMs`. */
  paid(orderId: string, timeoutMs = 10_000): Promise<number | null> {
    const at = this.paidAt.get(orderId);
    if (at !== undefined) return Promise.resolve(at);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.waiting.delete(orderId);
        resolve(null);
      }, timeoutMs);
      this.waiting.set(orderId, (arrived) => {
        clearTimeout(timer);
        this.waiting.delete(orderId);
        resolve(arrived);
      });
    });
  }

  close(): void {
    for (const socket of this.sockets) socket.disconnect();
  }

  private follow(order: SeededOrder): Promise<void> {
    return new Promise((resolve, reject) => {
      const socket = io(`${this.url}/orders`, {
        auth: { orderId: order.id, token: order.token },
        transports: ['websocket'],
        forceNew: true,
        reconnection: false,
        timeout: 30_000,
      });
      this.sockets.push(socket);
      let first = true;
      socket.on('order.status', (message: StatusMessage) => {
        if (first) {
          first = false;
          resolve();
        }
        if (message.status !== 'paid' || this.paidAt.has(message.orderId)) return;
        const at = performance.now();
        this.paidAt.set(message.orderId, at);
        this.waiting.get(message.orderId)?.(at);
      });
      socket.on('connect_error', (error) => reject(error));
    });
  }
}
