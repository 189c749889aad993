import { Logger } from '@nestjs/common';
import { createAdapter } from '@socket.io/redis-adapter';
import { Redis, type RedisOptions } from 'ioredis';
import { redactUrl } from '../shared/redact-url';

/**
 * A Redis client whose commands never end as unhandled rejections. The Socket.IO Redis adapter fires
 * its commands (PUBLISH, SUBSCRIBE, …) without awaiting them; while Redis is away they reject, and an
 * unhandled rejection would end the process. A caller that awaits a command still sees its error.
 */
class FireAndForgetRedis extends Redis {
  override sendCommand(...args: Parameters<Redis['sendCommand']>): unknown {
    const result = super.sendCommand(...args);
    if (result instanceof Promise) result.catch(() => undefined);
    return result;
  }

  /** Auto-pipelined, a PUBLISH answers through a promise of its pipeline's, not `sendCommand`'s. */
  override publish(...args: Parameters<Redis['publish']>): ReturnType<Redis['publish']> {
    const result = super.publish(...args);
    result.catch(() => undefined);
    return result;
  }
}

/**
 * The two connections the Socket.IO Redis adapter needs: one publishes this instance's broadcasts,
 * the other (in subscriber mode) receives the other instances'. Redis is optional at every moment:
 *
 * - down at boot or lost later, the service still starts and serves; broadcasts stay local to this
 *   instance (the publisher fails fast instead of queueing stale messages);
 * - both clients reconnect on their own, forever, and the subscriber restores its subscriptions, so
 *   cross-instance broadcasts resume when Redis returns;
 * - each change of the link (up, down) is logged once, not once per retry;
 * - each time the link is up again, `onLinked` listeners run once the subscriber's subscriptions are
 *   back (a PING answered after them), so that they may make up for the broadcasts they missed.
 */
export class RedisPubSubConnection {
  private readonly logger = new Logger('SocketIoRedis');
  private readonly pub: Redis;
  private readonly sub: Redis;
  private linked: boolean | undefined;
  private readonly linkedListeners: (() => void)[] = [];

  constructor(url: string) {
    const common: RedisOptions = {
      // Reconnect forever, at most every 2 s.
      retryStrategy: (attempt) => Math.min(attempt * 100, 2000),
      // Give up a connection attempt that hangs (a black-holed host) so that retries go on.
      connectTimeout: 5000,
      // On shutdown, how long a closing socket may linger before it is destroyed (default 2 s).
      disconnectTimeout: 200,
    };
    this.pub = new FireAndForgetRedis(url, {
      ...common,
      connectionName: 'socket.io-pub',
      enableOfflineQueue: false,
      // The commands of one turn of the event loop leave in one write: a commit's pushes (the
      // customer's and the consoles'), and those of the other commits answered in the same turn.
      enableAutoPipelining: true,
    });
    this.sub = new FireAndForgetRedis(url, {
      ...common,
      connectionName: 'socket.io-sub',
      // The adapter subscribes once, at start: if Redis is down then, that waits for it.
      enableOfflineQueue: true,
      maxRetriesPerRequest: null,
      autoResubscribe: true,
    });
    for (const client of [this.pub, this.sub]) {
      client.on('ready', () => this.observe());
      client.on('close', () => this.observe());
      client.on('error', (error: Error) => this.observe(error));
    }
    this.logger.log(`Socket.IO broadcasts go through Redis at ${redactUrl(url)}`);
  }

  /** The adapter factory for `new Server(…, { adapter })`. */
  adapter(): ReturnType<typeof createAdapter> {
    return createAdapter(this.pub, this.sub);
  }

  /** Runs `listener` each time both connections are ready again with the subscriptions in place. */
  onLinked(listener: () => void): void {
    this.linkedListeners.push(listener);
  }

  /** Both connections are ready: broadcasts reach the other instances. */
  get isLinked(): boolean {
    return this.pub.status === 'ready' && this.sub.status === 'ready';
  }

  async close(): Promise<void> {
    await Promise.all([this.pub, this.sub].map((client) => closeClient(client)));
  }

  private observe(error?: Error): void {
    const linked = this.isLinked;
    if (linked === this.linked) return;
    // The first failure at boot and a loss later are both worth a line; a retry that fails again is not.
    if (!linked && this.linked === undefined && !error) return;
    this.linked = linked;
    if (linked) {
      this.logger.log('Redis connected: Socket.IO broadcasts reach every instance');
      void this.announceLinked();
    } else {
      this.logger.warn(
        { reason: error?.message ?? 'connection closed' },
        'Redis unavailable: Socket.IO broadcasts stay on this instance until it returns',
      );
    }
  }

  /**
   * The subscriber re-sends its (P)SUBSCRIBEs as it becomes ready: a PING answered on the same
   * connection comes after them, so broadcasts published from then on reach this instance.
   */
  private async announceLinked(): Promise<void> {
    try {
      await this.sub.ping();
    } catch {
      return; // lost again meanwhile: the next time it is ready announces it
    }
    if (!this.isLinked) return;
    for (const listener of this.linkedListeners) {
      try {
        listener();
      } catch (error) {
        this.logger.error({ err: error }, 'A listener of the Redis link failed');
      }
    }
  }
}

async function closeClient(client: Redis): Promise<void> {
  if (client.status !== 'ready') {
    // Not connected: QUIT would wait in the offline queue for a connection that may never come.
    client.disconnect();
    return;
  }
  try {
    await client.quit();
  } catch {
    client.disconnect();
  }
}
