import { Injectable } from '@nestjs/common';

/**
 * Whether broadcasts reach the other instances right now. Without `REDIS_URL` there are no others
 * to reach; with it, the Redis connections tell (set by the Socket.IO adapter when it starts).
 */
@Injectable()
export class CrossInstanceLink {
  private probe?: () => boolean;
  private readonly restoredListeners: (() => void)[] = [];

  attach(probe: () => boolean): void {
    this.probe = probe;
  }

  get isDown(): boolean {
    return this.probe !== undefined && !this.probe();
  }

  /**
   * Runs `listener` each time the link is up again (and when it first comes up): from then on this
   * instance hears the others' broadcasts, but whatever they broadcast before has passed it by.
   */
  onRestored(listener: () => void): void {
    this.restoredListeners.push(listener);
  }

  /** Called by the adapter once this instance's subscriptions are back in place. */
  restored(): void {
    for (const listener of this.restoredListeners) listener();
  }
}
