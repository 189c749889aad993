import { randomFillSync } from 'node:crypto';

/**
 * Bytes from the operating system's CSPRNG, drawn 4 KB at a time (as Node's own `randomUUID` draws
 * its ids) rather than one system call per secret: on this service's virtual machines a
 * `getrandom` call cost placing an order about 70 µs of its CPU. Each byte is handed out once;
 * what is handed out is a copy, never a view of the pool.
 */
const POOL_SIZE = 4096;
const pool = Buffer.alloc(POOL_SIZE);
let used = POOL_SIZE;

/** Where `size` unused bytes of the pool start: it is refilled first if fewer are left. */
function take(size: number): number {
  if (used + size > POOL_SIZE) {
    randomFillSync(pool);
    used = 0;
  }
  const at = used;
  used += size;
  return at;
}

/** `size` random bytes (at most the pool's size), in a buffer of their own. */
export function randomBytesPooled(size: number): Buffer {
  if (!Number.isInteger(size) || size < 0 || size > POOL_SIZE) {
    throw new RangeError(`randomBytesPooled: size must be an integer from 0 to ${POOL_SIZE}`);
  }
  const at = take(size);
  return Buffer.from(pool.subarray(at, at + size));
}

/** One random byte (a value from 0 to 255). */
export function randomByte(): number {
  return pool[take(1)];
}
