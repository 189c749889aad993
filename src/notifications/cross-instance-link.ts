import { Injectable } from '@nestjs/common';

/**
 * Whether broadcasts reach the other instances right now. Without `REDIS_URL` there are no others
 * to reach; with it, the Redis connections tell (set by the Socket.IO adapter when it starts).
 */
@Injectable()
export class CrossInstanceLink {
  private probe?: () => boolean;

  attach(probe: () => boolean): void {
    this.probe = probe;
  }

  get isDown(): boolean {
    return this.probe !== undefined && !this.probe();
  }
}
