import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createWriteStream, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';

export const ROOT = join(__dirname, '..');

/** A port nobody listens on right now. */
export async function freePort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  server.close();
  await once(server, 'close');
  return port;
}

export interface Started {
  url: string;
  pid: number;
  /** Milliseconds from spawn to the first 2xx of the ready path. */
  readyMs: number;
  stop(): Promise<void>;
}

const running = new Set<ChildProcess>();

/** Stops every child still running (on a signal, an error, or the end of the run). */
export function killAll(): void {
  for (const child of running) child.kill('SIGKILL');
}

/**
 * Runs `node <args>` from the repository root with `env` on top of this process's environment, its
 * output appended to `logFile`, and waits until `http://127.0.0.1:<port><readyPath>` answers 2xx.
 * `wrapper`: a program that runs node itself (valgrind and its arguments), started instead.
 */
export async function startProcess(options: {
  args: string[];
  wrapper?: string[];
  env: Record<string, string>;
  port: number;
  readyPath: string;
  logFile: string;
  timeoutMs?: number;
}): Promise<Started> {
  const { args, env, port, readyPath, logFile, timeoutMs = 60_000, wrapper = [] } = options;
  mkdirSync(join(logFile, '..'), { recursive: true });
  const log = createWriteStream(logFile, { flags: 'a' });
  const began = performance.now();
  const [command, ...commandArgs] = [...wrapper, process.execPath, ...args];
  const child = spawn(command, commandArgs, {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(child);
  child.stdout.pipe(log);
  child.stderr.pipe(log);
  const exited = once(child, 'exit');
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(timer);
    }
    running.delete(child);
  };
  const url = `http://127.0.0.1:${port}`;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      running.delete(child);
      throw new Error(
        `node ${args.join(' ')} exited (${child.exitCode ?? child.signalCode}); see ${logFile}`,
      );
    }
    if (performance.now() - began > timeoutMs) {
      await stop();
      throw new Error(`node ${args.join(' ')} was not ready in ${timeoutMs} ms; see ${logFile}`);
    }
    const ok = await fetch(`${url}${readyPath}`).then(
      async (response) => {
        await response.arrayBuffer();
        return response.ok;
      },
      () => false,
    );
    if (ok) return { url, pid: child.pid!, readyMs: performance.now() - began, stop };
    await sleep(10);
  }
}

/** Resident set size now and at its peak (`VmHWM`) of a process, in MB, from /proc (Linux). */
export function memoryOf(pid: number): { rssMb: number; peakMb: number } | null {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
    return { rssMb: Math.round(kb('VmRSS') / 1024), peakMb: Math.round(kb('VmHWM') / 1024) };
  } catch {
    return null;
  }
}

/**
 * CPU time (user + system) a process has used so far, in seconds, from /proc (Linux; clock ticks of
 * 1/100 s). Unlike throughput, CPU per event hardly moves with the load others put on the machine.
 */
export function cpuSecondsOf(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces), from field 3 on.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return null;
  }
}

/**
 * CPU time (seconds) used so far by the PostgreSQL backends connected to `database` on this machine
 * (found by their process title). Pools keep their connections, so
 * the difference over a phase is the database's work for it; a backend that exits meanwhile is lost.
 */
export function postgresCpuSecondsOf(database: string): Map<number, number> {
  const seconds = new Map<number, number>();
  let pids: string[];
  try {
    pids = readdirSync('/proc').filter((name) => /^\d+$/.test(name));
  } catch {
    return seconds;
  }
  for (const pid of pids) {
    try {
      const title = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      // `postgres: [<cluster>: ]<user> <database> <host>(<port>) <state>`
      const match = /^postgres: (?:\S+: )?\S+ (\S+) (?:\S+\(\d+\)|\[local\])/.exec(title);
      if (match?.[1] !== database) continue;
      const cpu = cpuSecondsOf(Number(pid));
      if (cpu !== null) seconds.set(Number(pid), cpu);
    } catch {
      // Gone meanwhile.
    }
  }
  return seconds;
}

/** CPU seconds the backends of `before` (still running) used since, plus all of those that started since. */
export function postgresCpuSince(database: string, before: Map<number, number>): number {
  let total = 0;
  for (const [pid, now] of postgresCpuSecondsOf(database)) total += now - (before.get(pid) ?? 0);
  return total;
}
