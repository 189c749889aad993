import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { Redis } from 'ioredis';
import { freePort } from './service-process';

/**
 * A private `redis-server` on a free port, keeping nothing on disk, that a test may stop and start
 * again on the same port (a Redis outage). Other engineers' Redis on 6379 is left alone.
 */
export class PrivateRedis {
  private child?: ChildProcess;

  private constructor(readonly port: number) {}

  static async start(): Promise<PrivateRedis> {
    const redis = new PrivateRedis(await freePort());
    await redis.start();
    return redis;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** Starts the server (again) on its port and resolves once it accepts connections. */
  async start(timeoutMs = 10_000): Promise<void> {
    if (this.child) throw new Error('redis-server is already running');
    const child = spawn(
      'redis-server',
      [
        '--port',
        String(this.port),
        '--bind',
        '127.0.0.1',
        '--save',
        '',
        '--appendonly',
        'no',
        '--dir',
        tmpdir(),
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    this.child = child;
    let output = '';
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => fail(new Error(`redis-server did not start:\n${output}`)), timeoutMs);
      const fail = (error: Error) => {
        clearTimeout(timer);
        child.kill('SIGKILL');
        this.child = undefined;
        reject(error);
      };
      child.stdout?.on('data', (chunk: Buffer) => {
        output += chunk.toString();
        if (output.includes('Ready to accept connections')) {
          clearTimeout(timer);
          resolve();
        }
      });
      child.once('exit', (code) => fail(new Error(`redis-server exited with ${code}:\n${output}`)));
    });
    child.removeAllListeners('exit');
  }

  /** Kills the server (no goodbye to its clients, as in a crash) and waits for it to be gone. */
  async stop(): Promise<void> {
    const child = this.child;
    if (!child) return;
    this.child = undefined;
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = once(child, 'exit');
    child.kill('SIGKILL');
    await exited;
  }

  /** Names of the clients connected right now (`CLIENT SETNAME`), this probe excepted. */
  async clientNames(): Promise<string[]> {
    const probe = new Redis(this.url, { lazyConnect: true, maxRetriesPerRequest: 0 });
    try {
      await probe.connect();
      const list = (await probe.call('CLIENT', 'LIST')) as string;
      return list
        .split('\n')
        .map((line) => /\bname=(\S*)/.exec(line)?.[1] ?? '')
        .filter((name) => name !== '');
    } finally {
      probe.disconnect();
    }
  }
}
