import { Logger } from '@nestjs/common';

interface Job {
  dueAt: number;
  seq: number;
  name: string;
  run: () => void | Promise<void>;
}

/**
 * The sandbox's timers: session expiries, bank settlements, webhook retries, chaos delays. They run
 * on real time, and `advance(seconds)` fast-forwards them like a Stripe test clock: whatever falls
 * due within those seconds runs at once, in due order. Object timestamps (`created`, `expires_at`)
 * stay on the wall clock, so the service's clock and the sandbox's agree; advancing only makes the
 * pending timers come sooner.
 */
export class SandboxScheduler {
  private readonly logger = new Logger('StripeSandbox');
  private jobs: Job[] = [];
  private seq = 0;
  private advancedMs = 0;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<number> = Promise.resolve(0);
  private stopped = false;

  constructor(private readonly wallClock: () => number = Date.now) {}

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

  /** Runs `run` once `delayMs` of (possibly advanced) time has passed. */
  schedule(delayMs: number, name: string, run: () => void | Promise<void>): void {
    if (this.stopped) return;
    const job = { dueAt: this.timerNow() + Math.max(0, delayMs), seq: this.seq++, name, run };
    this.jobs.push(job);
    this.jobs.sort((a, b) => a.dueAt - b.dueAt || a.seq - b.seq);
    this.arm();
  }

  /** Moves the timers `seconds` ahead and runs every job that fell due; resolves to their number. */
  advance(seconds: number): Promise<number> {
    this.advancedMs += Math.round(seconds * 1000);
    return this.runDue();
  }

  /** Runs the jobs that are due, one after the other (jobs they schedule, if due, run too). */
  runDue(): Promise<number> {
    this.running = this.running.then(async () => {
      let ran = 0;
      while (!this.stopped && this.jobs.length && this.jobs[0].dueAt <= this.timerNow()) {
        const job = this.jobs.shift()!;
        ran++;
        try {
          await job.run();
        } catch (error) {
          this.logger.error(`Sandbox job ${job.name} failed: ${(error as Error).message}`);
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
