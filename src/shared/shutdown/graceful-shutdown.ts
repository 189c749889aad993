import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { type BeforeApplicationShutdown, Injectable, Logger } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { AppConfig } from '../../config';

/** Beyond the deadline, the rest of the shutdown (closing the database, Redis) gets this long. */
const CLOSE_GRACE_MS = 5000;

/**
 * On SIGTERM (Nest's shutdown hooks): stop accepting connections, close idle keep-alive ones, tell
 * clients of requests still running that their connection closes after the answer, and wait for
 * those requests up to `SHUTDOWN_TIMEOUT_SECONDS`; then cut what is left, so that the process exits.
 * A request cut there never got a 2xx: its transaction either committed before its answer was
 * written or rolls back with the connection.
 */
@Injectable()
export class GracefulShutdown implements BeforeApplicationShutdown {
  private readonly logger = new Logger(GracefulShutdown.name);
  private readonly active = new Set<ServerResponse>();
  private draining = false;
  private drained?: () => void;

  constructor(
    private readonly adapterHost: HttpAdapterHost,
    private readonly config: AppConfig,
  ) {}

  /** Installed first (`configureApp`): counts requests in flight. */
  readonly middleware = (_request: IncomingMessage, response: ServerResponse, next: () => void): void => {
    this.active.add(response);
    if (this.draining) response.setHeader('Connection', 'close');
    response.once('close', () => {
      this.active.delete(response);
      if (this.draining && this.active.size === 0) this.drained?.();
    });
    next();
  };

  async beforeApplicationShutdown(signal?: string): Promise<void> {
    const server = this.adapterHost.httpAdapter?.getHttpServer() as Server | undefined;
    if (!server?.listening) return;
    const deadlineMs = this.config.shutdownTimeoutSeconds * 1000;
    if (signal) {
      // Whatever else hangs (a stuck close), the process goes.
      setTimeout(() => {
        this.logger.error(`Shutdown took longer than ${deadlineMs + CLOSE_GRACE_MS} ms: exiting`);
        process.exit(1);
      }, deadlineMs + CLOSE_GRACE_MS).unref();
    }
    this.draining = true;
    this.logger.log(
      `${signal ?? 'Shutdown'}: no new connections; waiting up to ${deadlineMs / 1000} s for ${this.active.size} request(s)`,
    );
    for (const response of this.active) {
      if (!response.headersSent) response.setHeader('Connection', 'close');
    }
    server.close();
    server.closeIdleConnections();
    if (this.active.size > 0) {
      await new Promise<void>((resolve) => {
        this.drained = resolve;
        setTimeout(resolve, deadlineMs).unref();
      });
    }
    server.closeIdleConnections();
    if (this.active.size > 0) {
      this.logger.warn(`${this.active.size} request(s) still running after the deadline: cut`);
      server.closeAllConnections();
    }
  }
}
