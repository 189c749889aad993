/**
 * `npm run bench`: the performance benchmark (README, "Performance"). Scale and scenarios come from
 * BENCH_* variables or flags (`npm run bench -- --events=2000`); see bench/options.ts.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runBench } from './harness';
import { parseOptions } from './options';
import { killAll, ROOT } from './processes';
import { formatTable } from './report';

async function main(): Promise<number> {
  const options = parseOptions();
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      killAll();
      process.exit(130);
    });
  }
  const log = (line: string) => {
    if (options.verbose) console.error(`[bench ${new Date().toISOString().slice(11, 19)}] ${line}`);
  };
  const result = await runBench(options, log);
  const dir = join(ROOT, options.resultsDir);
  mkdirSync(dir, { recursive: true });
  const json = JSON.stringify(result, null, 2);
  const file = join(dir, `bench-${result.startedAt.replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, json);
  writeFileSync(join(dir, 'latest.json'), json);
  console.log(formatTable(result));
  console.log(`\n${file}`);
  return result.problems.length ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    killAll();
    console.error(error);
    process.exit(1);
  },
);
