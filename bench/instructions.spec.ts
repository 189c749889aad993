import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { firstDump, threadTotal, underCallgrind } from './instructions';

/** The head of a callgrind output file as callgrind writes it, for one thread. */
const dumpOf = (thread: number, instructions: number) =>
  [
    '# callgrind format',
    'version: 1',
    'creator: callgrind-3.19.0',
    'pid: 4242',
    'cmd:  node dist/main.js',
    'part: 1',
    `thread: ${thread}`,
    '',
    'desc: Trigger: Program termination',
    'events: Ir',
    `summary: ${instructions}`,
    '',
    'fn=(1) main',
    `0 ${instructions}`,
  ].join('\n');

describe('callgrind counts', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'callgrind-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("reads a thread's number and total", () => {
    expect(threadTotal(dumpOf(3, 526088964))).toEqual({ thread: 3, instructions: 526088964 });
    expect(() => threadTotal('events: Ir\n')).toThrow(/Not a callgrind output file/);
  });

  it("sums the first dump's threads of one process, thread 1 apart; other processes and dumps are not counted", () => {
    const prefix = join(dir, 'service-run');
    writeFileSync(`${prefix}.4242.1-01`, dumpOf(1, 1_500_000_000));
    writeFileSync(`${prefix}.4242.1-03`, dumpOf(3, 500_000_000));
    writeFileSync(`${prefix}.4242.1-04`, dumpOf(4, 300_000_000));
    // What callgrind writes at exit, another process's dump, a second dump: none of them is this one.
    writeFileSync(`${prefix}.4242-01`, dumpOf(1, 9));
    writeFileSync(`${prefix}.4243.1-01`, dumpOf(1, 9));
    writeFileSync(`${prefix}.4242.2-01`, dumpOf(1, 9));
    expect(firstDump(prefix, 4242)).toEqual({ mainThread: 1_500_000_000, allThreads: 2_300_000_000 });
  });

  it('refuses a dump that is missing, or has no JavaScript thread', () => {
    const prefix = join(dir, 'floor-run');
    expect(() => firstDump(prefix, 7)).toThrow(/No callgrind dump/);
    writeFileSync(`${prefix}.7.1-02`, dumpOf(2, 100));
    expect(() => firstDump(prefix, 7)).toThrow(/No dump of thread 1/);
  });

  it('runs the program under callgrind, counting nothing until told, a file per thread and process', () => {
    expect(underCallgrind('/tmp/x/service')).toEqual([
      'valgrind',
      '--tool=callgrind',
      '--separate-threads=yes',
      '--instr-atstart=no',
      '--callgrind-out-file=/tmp/x/service.%p',
    ]);
  });
});
