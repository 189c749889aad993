import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { waitFor } from './wait';

const ROOT = join(__dirname, '..', '..');

/** A port nobody listens on right now. */
export async function freePort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  server.close();
  await once(server, 'close');
  return port;
}

export interface ServiceProcess {
  url: string;
  port: number;
  /** Everything the process printed so far (JSON log lines). */
  output(): string;
  stop(): Promise<void>;
  /** Sends a signal (SIGKILL: a crash; SIGSTOP/SIGCONT: a freeze). */
  kill(signal: NodeJS.Signals): void;
  /** Resolves when the process has exited, with its exit code or the signal that ended it. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  pid: number;
}

/**
 * Runs a built entry point (`dist/…`) as a child process with `env` on top of the test environment,
 * and waits until `url + readyPath` answers 2xx. A process that exits first, or never answers, fails
 * with what it printed.
 */
export async function startNodeProcess(
  script: string,
  options: { env: Record<string, string>; port: number; readyPath: string; timeoutMs?: number },
): Promise<ServiceProcess> {
  const { env, port, readyPath, timeoutMs = 60_000 } = options;
  const child = spawn(process.execPath, [script], {
    cwd: ROOT,
    env: { ...process.env, LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const url = `http://127.0.0.1:${port}`;
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  };
  try {
    await waitFor(
      async () => {
        if (child.exitCode !== null) throw new Error(`${script} exited with ${child.exitCode}:\n${output}`);
        return fetch(`${url}${readyPath}`).then(
          (response) => response.ok,
          () => false, // not listening yet
        );
      },
      `${script} to answer ${readyPath}\n${output}`,
      timeoutMs,
      100,
    );
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    url,
    port,
    output: () => output,
    stop,
    kill: (signal) => child.kill(signal),
    exited,
    pid: child.pid!,
  };
}

/**
 * Runs the built service (`node dist/main.js`, what `npm start` runs) and waits until it answers its
 * liveness check. Its Stripe sandbox (when it starts one) gets a free port unless `env` names one.
 */
export async function startService(env: Record<string, string>, timeoutMs = 60_000): Promise<ServiceProcess> {
  const port = Number(env.PORT ?? (await freePort()));
  const sandboxPort = env.SANDBOX_PORT ?? String(await freePort());
  return startNodeProcess('dist/main.js', {
    env: { ...env, PORT: String(port), SANDBOX_PORT: sandboxPort },
    port,
    readyPath: '/api/health',
    timeoutMs,
  });
}
