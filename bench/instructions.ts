import { execFileSync, spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

/**
 * Instructions per webhook event, counted by valgrind's callgrind: a figure that other load on a
 * shared machine does not move, unlike seconds (the same build and inputs count the same to within
 * a percent or two). The process runs under valgrind with counting off; it is switched on for the
 * measured events only (after the warm-up, so that start-up and most of the compiling are left
 * out), per thread: the JavaScript thread (the event loop: every request, every push) apart from
 * V8's helper threads (concurrent garbage collection and compilation, which on two cores take their
 * share of the other core).
 */
export interface InstructionCount {
  /** Events counted (each answered `applied`). */
  events: number;
  /** Millions of instructions per event on the JavaScript thread. */
  mainThread: number;
  /** Millions of instructions per event on all of the process's threads. */
  allThreads: number;
}

/** Why the instructions cannot be counted here (valgrind missing), or undefined. */
export function callgrindMissing(): string | undefined {
  for (const tool of ['valgrind', 'callgrind_control']) {
    const probe = spawnSync(tool, ['--version'], { stdio: 'ignore' });
    if (probe.error || probe.status !== 0) {
      return `${tool} is not installed: the instructions scenario needs valgrind (Debian: apt-get install -y valgrind)`;
    }
  }
  return undefined;
}

/** valgrind and its arguments, to be put before `node …`: callgrind, counting off, a file per thread. */
export function underCallgrind(outPrefix: string): string[] {
  return [
    'valgrind',
    '--tool=callgrind',
    '--separate-threads=yes',
    '--instr-atstart=no',
    `--callgrind-out-file=${outPrefix}.%p`,
  ];
}

/** Asks the callgrind of process `pid` to do something (`-i on`, `-z`, `-d`: see callgrind_control). */
export function callgrindControl(pid: number, ...command: string[]): void {
  execFileSync('callgrind_control', [...command, String(pid)], { stdio: 'ignore', timeout: 120_000 });
}

/** A callgrind output file's thread number and its total count (`thread:` and `summary:` lines). */
export function threadTotal(text: string): { thread: number; instructions: number } {
  const thread = /^thread: (\d+)$/m.exec(text);
  const summary = /^summary: (\d+)$/m.exec(text);
  if (!thread || !summary) throw new Error('Not a callgrind output file of one thread');
  return { thread: Number(thread[1]), instructions: Number(summary[1]) };
}

/**
 * The counts of the first dump (`callgrindControl(pid, '-d')`) of process `pid`, whose files are
 * `<outPrefix>.<pid>.1-<thread>`: the JavaScript thread's (thread 1) and all threads' together.
 */
export function firstDump(outPrefix: string, pid: number): { mainThread: number; allThreads: number } {
  const dir = dirname(outPrefix);
  const stem = `${basename(outPrefix)}.${pid}.1-`;
  const files = readdirSync(dir).filter((name) => name.startsWith(stem));
  if (files.length === 0) throw new Error(`No callgrind dump ${join(dir, stem)}*`);
  let mainThread: number | undefined;
  let allThreads = 0;
  for (const name of files) {
    const { thread, instructions } = threadTotal(readFileSync(join(dir, name), 'utf8'));
    if (thread === 1) mainThread = instructions;
    allThreads += instructions;
  }
  if (mainThread === undefined) throw new Error(`No dump of thread 1 among ${files.join(', ')}`);
  return { mainThread, allThreads };
}
