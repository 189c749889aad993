import { Logger } from '@nestjs/common';
import type { SandboxStore, TimerRecord } from './sandbox.store';
import { newId } from './stripe/stripe-ids';

interface Job {
  dueAt: number;
  seq: number;
  name: string;
  run: () => void | Promise<void>;
  /** The stored timer of a durable job, deleted when it runs. */
  timer?: TimerRecord;
}

type DurableHandler = (args: Record<string, unknown>) => void | Promise<void>;

/**
 * The sandbox's timers: session expiries, bank settlements, webhook retries, chaos delays. They run
 * on real time, and `advance(seconds)` fast-forwards them like a Stripe test clock: whatever falls
 * due within those seconds runs at once, in due order. Object timestamps (`created`, `expires_at`)
 * stay on the wall clock, so the service's clock and the sandbox's agree; advancing only makes the
 * pending timers come sooner.
 *
 * With a store, durable jobs (`scheduleDurable`: a handler name and JSON arguments) and the clock's
 * advance are kept in it, and the store is flushed after each job: after a restart, `restore()`
 * re-arms them at their due times.
 */
export class SandboxScheduler {
  private readonly logger = new Logger('StripeSandbox');
  private jobs: Job[] = [];
  private seq = 0;
  private advancedMs = 0;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<number> = Promise.resolve(0);
  private stopped = false;
  private readonly handlers = new Map<string, DurableHandler>();

  constructor(
    private readonly wallClock: () => number = Date.now,
    private readonly store?: SandboxStore,
  ) {}

  /** Names the handler of a durable job type (before `restore()` and before scheduling one). */
  define<A extends Record<string, unknown>>(type: string, handler: (args: A) => void | Promise<void>): void {
    this.handlers.set(type, handler as DurableHandler);
  }

  /**
   * Runs the handler of `type` with `args` once `delayMs` has passed, even across a restart: the job
   * is a timer record of the store (written with the caller's flush) until it has run.
   */
  scheduleDurable(delayMs: number, type: string, args: Record<string, unknown>): void {
    if (this.stopped) return;
    const handler = this.handlers.get(type);
    if (!handler) throw new Error(`No handler for sandbox job ${type}`);
    const timer: TimerRecord = {
      id: newId.timer(),
      type,
      args,
      dueAt: this.timerNow() + Math.max(0, delayMs),
    };
    this.store?.timers.set(timer.id, timer);
    this.add({ dueAt: timer.dueAt, seq: this.seq++, name: type, run: () => handler(args), timer });
  }

  /** Re-arms the stored durable jobs and the clock's advance (after the store was loaded). */
  restore(): void {
    if (!this.store) return;
    this.advancedMs = this.store.clock.get('clock')?.advancedMs ?? 0;
    for (const timer of this.store.timers.values()) {
      const handler = this.handlers.get(timer.type);
      if (!handler) {
        this.logger.warn(`Sandbox job ${timer.type} (${timer.id}) has no handler; dropped`);
        this.store.timers.delete(timer.id);
        continue;
      }
      this.add({
        dueAt: timer.dueAt,
        seq: this.seq++,
        name: timer.type,
        run: () => handler(timer.args),
        timer,
      });
    }
  }

  /** Wall-clock time, in milliseconds: what object timestamps are made of. */
  now(): number {
    return this.wallClock();
  }

  /** Unix seconds, as Stripe's timestamps are. */
  unixNow(): number {
    return Math.floor(this.wallClock() / 1000);
  }

  /** How far the timers were fast-forwarded in all. */
  get advancedSeconds(): number {
    return this.advancedMs / 1000;
  }

  get pending(): number {
    return this.jobs.length;
  }

  /** Runs `run` once `delayMs` of (possibly advanced) time has passed (lost at a restart). */
  schedule(delayMs: number, name: string, run: () => void | Promise<void>): void {
    if (this.stopped) return;
    this.add({ dueAt: this.timerNow() + Math.max(0, delayMs), seq: this.seq++, name, run });
  }

  /** Moves the timers `seconds` ahead and runs every job that fell due; resolves to their number. */
  async advance(seconds: number): Promise<number> {
    this.advancedMs += Math.round(seconds * 1000);
    if (this.store) {
      this.store.clock.set('clock', { id: 'clock', advancedMs: this.advancedMs });
      await this.store.flush();
    }
    return this.runDue();
  }

  /** Runs the jobs that are due, one after the other (jobs they schedule, if due, run too). */
  runDue(): Promise<number> {
    this.running = this.running.then(async () => {
      let ran = 0;
      while (!this.stopped && this.jobs.length && this.jobs[0].dueAt <= this.timerNow()) {
        const job = this.jobs.shift()!;
        ran++;
        if (job.timer) this.store?.timers.delete(job.timer.id);
        try {
          await job.run();
        } catch (error) {
          this.logger.error(`Sandbox job ${job.name} failed: ${(error as Error).message}`);
        }
        try {
          // What the job changed, and its timer's removal, are stored before the next job runs.
          await this.store?.flush();
        } catch {
          // Logged by the store; the changes stay queued for the next flush.
        }
      }
      this.arm();
      return ran;
    });
    return this.running;
  }

  stop(): void {
    this.stopped = true;
    this.jobs = [];
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private add(job: Job): void {
    // In due order (ties: in the order scheduled), by binary search: a sandbox holds a timer per
    // open session, and sorting them all again on every new one grew with their number.
    let low = 0;
    let high = this.jobs.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      const other = this.jobs[middle];
      if (other.dueAt < job.dueAt || (other.dueAt === job.dueAt && other.seq < job.seq)) low = middle + 1;
      else high = middle;
    }
    this.jobs.splice(low, 0, job);
    // The real timer follows the earliest job only.
    if (low === 0) this.arm();
  }

  private timerNow(): number {
    return this.wallClock() + this.advancedMs;
  }

  /** One real timer, for the earliest job; it does not keep the process alive by itself. */
  private arm(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.stopped || !this.jobs.length) return;
    const wait = Math.min(Math.max(0, this.jobs[0].dueAt - this.timerNow()), 2 ** 31 - 1);
    this.timer = setTimeout(() => void this.runDue(), wait);
    this.timer.unref();
  }
}
