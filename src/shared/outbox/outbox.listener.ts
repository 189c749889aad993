import { Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { Client } from 'pg';
import { AppConfig } from '../../config';
import { OutboxRelay } from './outbox.relay';
import { OUTBOX_CHANNEL } from './outbox.writer';

const RECONNECT_MS = 2000;

/**
 * On PostgreSQL, one connection per instance that `LISTEN`s for commits of outbox deliveries made by
 * any instance, and wakes this instance's relay. Lost, it reconnects (every 2 s at most, logging each
 * change of state once) and wakes the relay, since notifications sent meanwhile are gone; the relay's
 * timer covers the gap. The embedded database has one process: nothing to listen for.
 */
@Injectable()
export class OutboxListener implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(OutboxListener.name);
  private client?: Client;
  private retry?: NodeJS.Timeout;
  private stopped = false;
  private lost = false;

  constructor(
    private readonly config: AppConfig,
    private readonly relay: OutboxRelay,
  ) {}

  onApplicationBootstrap(): void {
    if (this.config.database.kind === 'postgresql') void this.connect(this.config.database.url);
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.retry);
    const client = this.client;
    this.client = undefined;
    await client?.end().catch(() => undefined);
  }

  private async connect(url: string): Promise<void> {
    if (this.stopped) return;
    const client = new Client({
      connectionString: url,
      application_name: 'outbox-listener',
      connectionTimeoutMillis: 5000,
      keepAlive: true,
    });
    let failed = false;
    const fail = (error: Error) => {
      if (failed) return;
      failed = true;
      if (this.client === client) this.client = undefined;
      void client.end().catch(() => undefined);
      if (!this.lost && !this.stopped) {
        this.lost = true;
        this.logger.warn({ err: error.message }, 'Outbox LISTEN connection lost; reconnecting');
      }
      if (!this.stopped) {
        this.retry = setTimeout(() => void this.connect(url), RECONNECT_MS);
        this.retry.unref();
      }
    };
    client.on('error', fail);
    client.on('end', () => fail(new Error('connection ended')));
    client.on('notification', () => this.relay.wake());
    try {
      await client.connect();
      await client.query(`LISTEN ${OUTBOX_CHANNEL}`);
    } catch (error) {
      fail(error as Error);
      return;
    }
    if (this.stopped) {
      await client.end().catch(() => undefined);
      return;
    }
    this.client = client;
    if (this.lost) {
      this.lost = false;
      this.logger.log('Outbox LISTEN connection restored');
    }
    this.relay.wake();
  }
}
