import { randomByte, randomBytesPooled } from './random-bytes';

describe('randomBytesPooled', () => {
  it('hands out every byte once, across refills of the pool', () => {
    // 4 KB of 32-byte secrets is 128 per pool: 1,000 of them span eight refills.
    const secrets = Array.from({ length: 1000 }, () => randomBytesPooled(32).toString('hex'));
    expect(new Set(secrets).size).toBe(secrets.length);
    expect(secrets.every((secret) => secret.length === 64)).toBe(true);
  });

  it('gives a copy: a refill of the pool does not change what was handed out', () => {
    const secret = randomBytesPooled(32);
    const kept = Buffer.from(secret);
    // More than the pool holds: it is refilled at least once.
    for (let i = 0; i < 200; i++) randomBytesPooled(32);
    expect(secret.equals(kept)).toBe(true);
  });

  it('covers the byte range evenly enough to be random', () => {
    const counts = new Array<number>(256).fill(0);
    for (let i = 0; i < 256 * 200; i++) counts[randomByte()]++;
    // 200 expected per value; a CSPRNG stays well inside 100..300 (about 7 standard deviations).
    expect(Math.min(...counts)).toBeGreaterThan(100);
    expect(Math.max(...counts)).toBeLessThan(300);
  });

  it('refuses a size it cannot give', () => {
    expect(() => randomBytesPooled(4097)).toThrow(RangeError);
    expect(() => randomBytesPooled(-1)).toThrow(RangeError);
    expect(() => randomBytesPooled(1.5)).toThrow(RangeError);
  });
});
