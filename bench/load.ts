import { performance } from 'node:perf_hooks';
import { Pool } from 'undici';

/** Latency percentiles in milliseconds. */
export interface Latency {
  p50: number;
  p99: number;
  max: number;
}

export function latency(samples: readonly number[]): Latency {
  if (samples.length === 0) return { p50: NaN, p99: NaN, max: NaN };
  const sorted = Float64Array.from(samples).sort();
  // Nearest rank: the smallest sample at or above the given share of all samples.
  const at = (share: number) => sorted[Math.min(sorted.length - 1, Math.ceil(share * sorted.length) - 1)];
  return { p50: round(at(0.5)), p99: round(at(0.99)), max: round(sorted[sorted.length - 1]) };
}

export const round = (value: number, digits = 1): number => Number(value.toFixed(digits));

/** A keep-alive HTTP client for one origin, `connections` sockets, no pipelining. */
export function httpPool(origin: string, connections: number): Pool {
  return new Pool(origin, {
    connections,
    pipelining: 1,
    headersTimeout: 30_000,
    bodyTimeout: 30_000,
    keepAliveTimeout: 60_000,
  });
}

export interface Phase<T> {
  /** Results of the tasks that ran, in task order (holes where none ran). */
  results: (T | undefined)[];
  /** Wall time from the first task's start to the last one's end, in seconds. */
  seconds: number;
  /** Tasks that ran. */
  completed: number;
  /** Whether the time limit stopped the phase before every task ran. */
  cutShort: boolean;
}

/**
 * Runs `count` tasks with `concurrency` of them in flight at all times (a closed loop, as a pool of
 * clients that each send their next request once the last one is answered). Stops starting tasks
 * after `timeoutSeconds`; a task that throws ends the phase with that error.
 */
export async function runPhase<T>(
  count: number,
  concurrency: number,
  timeoutSeconds: number,
  task: (index: number) => Promise<T>,
): Promise<Phase<T>> {
  const results: (T | undefined)[] = new Array<T | undefined>(count);
  const started = performance.now();
  const deadline = started + timeoutSeconds * 1000;
  let next = 0;
  let completed = 0;
  let cutShort = false;
  const worker = async () => {
    while (next < count) {
      if (performance.now() > deadline) {
        cutShort = true;
        return;
      }
      const index = next++;
      results[index] = await task(index);
      completed++;
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
  return { results, seconds: (performance.now() - started) / 1000, completed, cutShort };
}
