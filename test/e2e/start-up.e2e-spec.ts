import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { freePort, startService } from '../support/service-process';
import { waitFor } from '../support/wait';

const ROOT = join(__dirname, '..', '..');

/** Runs a built entry point until it exits; resolves to its exit code and what it printed. */
async function runToExit(script: string, env: Record<string, string>, args?: string[]) {
  const child = spawn(args ? script : process.execPath, args ?? [script], {
    cwd: ROOT,
    env: { ...process.env, LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const [code] = (await once(child, 'exit')) as [number | null];
  return { code, stdout, stderr };
}

describe('Start-up, as a person at a terminal meets it', () => {
  let taken: Server;
  let port: number;
  beforeAll(async () => {
    taken = createServer().listen(0, '127.0.0.1');
    await once(taken, 'listening');
    port = (taken.address() as { port: number }).port;
  });
  afterAll(() => new Promise((resolve) => taken.close(resolve)));

  it('a PORT in use: one line naming PORT, exit code 1, no stack', async () => {
    const result = await runToExit('dist/main.js', {
      PORT: String(port),
      SANDBOX_PORT: String(await freePort()),
    });
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(
      `Port ${port} (PORT) is already in use: stop what listens there, or set PORT to a free port.\n`,
    );
    // The logs of what happened before the refusal are kept, not lost in the start-up buffer.
    const messages = result.stdout
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => (JSON.parse(line) as { msg: string }).msg);
    expect(messages).toEqual(expect.arrayContaining(['Starting Nest application...']));
  });

  it('at a terminal, readable log lines (pino-pretty), not JSON', async () => {
    // `script` (util-linux) runs the service on a pseudo-terminal, as a person's shell would.
    const result = await runToExit(
      '/usr/bin/script',
      {
        PORT: String(port),
        SANDBOX_PORT: String(await freePort()),
      },
      ['-qefc', `${process.execPath} dist/main.js`, '/dev/null'],
    );
    expect(result.code).toBe(1);
    const lines = result.stdout
      .replace(new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*m`, 'g'), '') // colours
      .split(/\r?\n/)
      .filter(Boolean);
    expect(lines.some((line) => /^\[\d\d:\d\d:\d\d\] INFO: .*Starting Nest application/.test(line))).toBe(
      true,
    );
    expect(lines.filter((line) => line.startsWith('{'))).toEqual([]);
    expect(lines).toContain(
      `Port ${port} (PORT) is already in use: stop what listens there, or set PORT to a free port.`,
    );
  });

  it('a SANDBOX_PORT in use: one line naming SANDBOX_PORT (service and standalone sandbox)', async () => {
    for (const script of ['dist/main.js', 'dist/sandbox/main.js']) {
      const result = await runToExit(script, {
        PORT: String(await freePort()),
        SANDBOX_PORT: String(port),
      });
      expect([script, result.code]).toEqual([script, 1]);
      expect(result.stderr.trim().split('\n')).toHaveLength(1);
      expect(result.stderr).toMatch(
        new RegExp(`^Port ${port} \\(SANDBOX_PORT\\) is already in use: .*set SANDBOX_PORT to a free port`),
      );
    }
  });

  it('prints where the shop, the API docs, the sandbox (and its mailbox) and the database are', async () => {
    const service = await startService({});
    try {
      // Logged just after the port opens: it may follow the first answer by a moment.
      const banner = await waitFor(
        () =>
          service
            .output()
            .split('\n')
            .map((line) => (line.startsWith('{') ? (JSON.parse(line) as { msg: string }).msg : line))
            .find((msg) => msg.startsWith('Payment flow service ready')),
        'the start banner',
      );
      const database = new URL(process.env.DATABASE_URL!);
      const sandbox = /sandbox (http:\/\/127\.0\.0\.1:\d+)\//.exec(banner)?.[1];
      expect(banner).toBe(
        [
          `Payment flow service ready on port ${service.port}`,
          `  shop      http://localhost:${service.port}/`,
          `  API docs  http://localhost:${service.port}/api/docs`,
          `  Stripe    offline sandbox ${sandbox}/ (test card 4242 4242 4242 4242; receipts ${sandbox}/mailbox)`,
          `  database  PostgreSQL ${database.toString()}`,
        ].join('\n'),
      );
      expect((await fetch(`${sandbox}/mailbox`)).status).toBe(200);
    } finally {
      await service.stop();
    }
  });
});
