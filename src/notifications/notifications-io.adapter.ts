import type { IncomingMessage } from 'node:http';
import type { INestApplicationContext } from '@nestjs/common';
import { IoAdapter } from '@nestjs/platform-socket.io';
import proxyAddr from 'proxy-addr';
import type { Server, ServerOptions } from 'socket.io';
import type { AppConfig } from '../config';
import { CrossInstanceLink } from './cross-instance-link';
import { RedisPubSubConnection } from './redis-pub-sub.connection';

/**
 * Largest Socket.IO message (and long-polling request) a client may send. Ours are an order id and a
 * token; anything near this size is abuse, and the connection is closed.
 */
export const MAX_SOCKET_MESSAGE_BYTES = 4 * 1024;

/**
 * The Socket.IO server as the service runs it: origins from configuration, a cap on message size,
 * and, with `REDIS_URL`, the Redis adapter that carries broadcasts between instances. Installed by
 * `configureApp`, so that `main.ts` and the tests run the same server.
 */
export class NotificationsIoAdapter extends IoAdapter {
  private redis?: RedisPubSubConnection;
  /** Open connections by client address, for `SOCKET_MAX_CONNECTIONS_PER_IP`. */
  private readonly perAddress = new Map<string, number>();
  private readonly trust: (address: string, hop: number) => boolean;

  constructor(
    private readonly app: INestApplicationContext,
    private readonly config: AppConfig,
  ) {
    super(app);
    const { trustProxy } = config;
    this.trust =
      typeof trustProxy === 'boolean'
        ? () => trustProxy
        : typeof trustProxy === 'number'
          ? (_address, hop) => hop < trustProxy
          : proxyAddr.compile(trustProxy.split(',').map((item) => item.trim()));
  }

  /** The client's address, by the same `TRUST_PROXY` rule as the REST API's rate limit. */
  private addressOf(request: IncomingMessage): string {
    return proxyAddr(request, this.trust);
  }

  override createIOServer(port: number, options?: ServerOptions): Server {
    if (this.config.redisUrl && !this.redis) {
      const redis = new RedisPubSubConnection(this.config.redisUrl);
      this.redis = redis;
      const link = this.app.get(CrossInstanceLink);
      link.attach(() => redis.isLinked);
      redis.onLinked(() => link.restored());
    }
    const server = super.createIOServer(port, {
      ...options,
      serveClient: true,
      maxHttpBufferSize: MAX_SOCKET_MESSAGE_BYTES,
      // Cross-origin long-polling from the allowed origins (browsers enforce CORS there)…
      cors: { origin: this.config.corsOrigins, methods: ['GET', 'POST'] },
      // …and every handshake, WebSocket included (browsers do not apply CORS to WebSockets).
      allowRequest: (
        request: IncomingMessage,
        callback: (error: string | null, allowed: boolean) => void,
      ) => {
        if (!isAllowedOrigin(request, this.config)) return callback('Origin not allowed', false);
        const open = this.perAddress.get(this.addressOf(request)) ?? 0;
        if (open >= this.config.sockets.maxConnectionsPerIp) return callback('Too many connections', false);
        callback(null, true);
      },
      ...(this.redis ? { adapter: this.redis.adapter() } : {}),
    }) as Server;
    server.engine.on(
      'connection',
      (socket: { request: IncomingMessage; once(event: 'close', fn: () => void): void }) => {
        const address = this.addressOf(socket.request);
        this.perAddress.set(address, (this.perAddress.get(address) ?? 0) + 1);
        socket.once('close', () => {
          const left = (this.perAddress.get(address) ?? 1) - 1;
          if (left > 0) this.perAddress.set(address, left);
          else this.perAddress.delete(address);
        });
      },
    );
    return server;
  }

  /** Called by Nest on shutdown, after the servers closed. */
  override async dispose(): Promise<void> {
    await this.redis?.close();
    this.redis = undefined;
  }
}

/**
 * A browser's handshake carries its page's origin: allowed if listed in `CORS_ORIGINS` (default
 * `PUBLIC_URL`), or if it is the very host the request was sent to (the storefront this service
 * serves, under whatever name it was reached). No `Origin` at all is a same-origin long-polling GET
 * or a client that is not a browser: a browser always sends one when another site is asking.
 */
export function isAllowedOrigin(
  request: Pick<IncomingMessage, 'headers'>,
  config: Pick<AppConfig, 'corsOrigins' | 'publicUrl'>,
): boolean {
  const { origin, host } = request.headers;
  if (origin === undefined) return true;
  if (config.corsOrigins.includes(origin) || origin === config.publicUrl) return true;
  try {
    return host !== undefined && new URL(origin).host === host.toLowerCase();
  } catch {
    return false; // "null" (a sandboxed frame, a file) or garbage
  }
}
