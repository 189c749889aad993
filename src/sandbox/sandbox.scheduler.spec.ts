import { SandboxScheduler } from './sandbox.scheduler';

describe('SandboxScheduler', () => {
  let wall = 1_000_000;
  let scheduler: SandboxScheduler;
  beforeEach(() => {
    wall = 1_000_000;
    scheduler = new SandboxScheduler(() => wall);
  });
  afterEach(() => scheduler.stop());

  it('runs what falls due when the clock is advanced, in due order, and nothing else', async () => {
    const ran: string[] = [];
    scheduler.schedule(60_000, 'b', () => void ran.push('b'));
    scheduler.schedule(30_000, 'a', () => void ran.push('a'));
    scheduler.schedule(3_600_000, 'c', () => void ran.push('c'));

    expect(await scheduler.advance(59)).toBe(1);
    expect(ran).toEqual(['a']);
    expect(await scheduler.advance(1)).toBe(1);
    expect(ran).toEqual(['a', 'b']);
    expect(scheduler.pending).toBe(1);
    expect(scheduler.advancedSeconds).toBe(60);
  });

  it('measures new delays from the advanced time, and keeps timestamps on the wall clock', async () => {
    await scheduler.advance(600);
    const ran: string[] = [];
    scheduler.schedule(10_000, 'later', () => void ran.push('later'));
    expect(await scheduler.advance(9)).toBe(0);
    expect(await scheduler.advance(1)).toBe(1);
    expect(scheduler.now()).toBe(wall);
  });

  it('runs jobs that due jobs schedule, if they are due too, and survives a failing job', async () => {
    const ran: string[] = [];
    scheduler.schedule(1_000, 'fails', () => {
      throw new Error('boom');
    });
    scheduler.schedule(1_000, 'chain', () => scheduler.schedule(0, 'next', () => void ran.push('next')));
    expect(await scheduler.advance(1)).toBe(3);
    expect(ran).toEqual(['next']);
  });

  it('runs due jobs on its own timer', async () => {
    const real = new SandboxScheduler();
    const done = new Promise<string>((resolve) => real.schedule(10, 'soon', () => resolve('ran')));
    await expect(done).resolves.toBe('ran');
    real.stop();
  });
});
