import { execFile } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Client } from 'pg';
import { freePort } from './service-process';
import { waitFor } from './wait';

const run = promisify(execFile);

/** The newest PostgreSQL server binaries on this machine (Debian: /usr/lib/postgresql/<major>/bin). */
export function postgresBinDir(): string {
  const root = '/usr/lib/postgresql';
  const majors = existsSync(root)
    ? readdirSync(root).filter((name) => /^\d+$/.test(name) && existsSync(join(root, name, 'bin', 'initdb')))
    : [];
  if (!majors.length) throw new Error('No PostgreSQL server binaries under /usr/lib/postgresql');
  return join(root, majors.sort((a, b) => Number(b) - Number(a))[0], 'bin');
}

/**
 * A PostgreSQL cluster of the test's own (initdb in a temporary directory, on a free port), so that a
 * test may stop, restart or freeze it without touching the machine's shared server. PostgreSQL
 * refuses to run as root: as root, it runs as the `postgres` user.
 */
export class PrivatePostgres {
  static async start(database = 'chaos_test'): Promise<PrivatePostgres> {
    const dir = mkdtempSync(join(tmpdir(), 'pg-private-'));
    chmodSync(dir, 0o777);
    const cluster = new PrivatePostgres(await freePort(), dir, database);
    await cluster.asOwner('initdb', ['-D', cluster.dataDir, '-U', 'postgres', '-A', 'trust', '--no-sync']);
    await cluster.start();
    const client = new Client({
      host: '127.0.0.1',
      port: cluster.port,
      user: 'postgres',
      database: 'postgres',
    });
    await client.connect();
    await client.query(`create database ${database}`);
    await client.end();
    return cluster;
  }

  constructor(
    readonly port: number,
    private readonly dir: string,
    readonly database: string,
  ) {}

  get dataDir(): string {
    return join(this.dir, 'data');
  }

  get url(): string {
    return `postgresql://postgres@127.0.0.1:${this.port}/${this.database}`;
  }

  async asOwner(program: string, args: string[]): Promise<string> {
    const path = join(postgresBinDir(), program);
    const [command, commandArgs] =
      process.getuid?.() === 0 ? ['runuser', ['-u', 'postgres', '--', path, ...args]] : [path, args];
    const { stdout } = await run(command, commandArgs, { cwd: this.dir });
    return stdout;
  }

  /**
   * Fast settings for a throwaway cluster, except one: `synchronous_commit` stays on. A restart here
   * is a crash (`-m immediate`), and with it off PostgreSQL acknowledges commits that such a crash
   * then loses (a few dozen a second under load), which no production setting of ours allows: a
   * webhook answered 200 or a cancellation answered 200 would vanish. `fsync=off` only risks what
   * an operating-system crash would lose; a process crash keeps what was written.
   */
  async start(): Promise<void> {
    await this.asOwner('pg_ctl', [
      '-D',
      this.dataDir,
      '-l',
      join(this.dir, 'log'),
      '-w',
      '-o',
      `-p ${this.port} -c listen_addresses=127.0.0.1 -k ${this.dir} -c fsync=off -c full_page_writes=off -c max_connections=100`,
      'start',
    ]);
  }

  /** Stops it at once: clients lose their connections (as in a crash or a restart). */
  async stop(): Promise<void> {
    await this.asOwner('pg_ctl', ['-D', this.dataDir, '-m', 'immediate', '-w', 'stop']);
  }

  async restart(): Promise<void> {
    await this.stop();
    await this.start();
  }

  /** The postmaster and every server process under it. */
  private pids(): number[] {
    const postmaster = Number(readFileSync(join(this.dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
    const children = readdirSync('/proc')
      .filter((name) => /^\d+$/.test(name))
      .filter((pid) => {
        try {
          const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
          return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === postmaster;
        } catch {
          return false; // gone meanwhile
        }
      })
      .map(Number);
    return [postmaster, ...children];
  }

  /** SIGSTOP to every server process: connections stay open and nothing answers. */
  freeze(): void {
    for (const pid of this.pids()) process.kill(pid, 'SIGSTOP');
  }

  thaw(): void {
    for (const pid of this.pids()) process.kill(pid, 'SIGCONT');
  }

  async destroy(): Promise<void> {
    try {
      this.thaw();
    } catch {
      // not running
    }
    await this.stop().catch(() => undefined);
    rmSync(this.dir, { recursive: true, force: true });
  }

  /** Resolves once it accepts queries again. */
  async ready(timeoutMs = 30_000): Promise<void> {
    await waitFor(
      async () => {
        const client = new Client({ connectionString: this.url, connectionTimeoutMillis: 1000 });
        try {
          await client.connect();
          await client.query('select 1');
          return true;
        } catch {
          return false;
        } finally {
          await client.end().catch(() => undefined);
        }
      },
      'the private PostgreSQL to accept queries',
      timeoutMs,
      200,
    );
  }
}
