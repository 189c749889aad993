import { setFlagsFromString } from 'node:v8';

/**
 * How much V8 lets the old generation grow past what survived its last full collection before it
 * collects again: 50%. V8's own factor (up to 4x when collections are fast) let a service holding
 * about 100 MB of live objects (1,000 Socket.IO clients) reach 410-420 MB of RSS under a stream of
 * webhooks, nearly all of it garbage promoted while requests waited on the database; at 50% it
 * peaks near 230 MB. The price is about twice as many full collections: a few percent more CPU,
 * mostly V8's concurrent marking on its own threads, and on a machine too busy to give those
 * threads a core, marking steps of tens of milliseconds on the main one, which show in the p99 of
 * the push latency (README, "Performance"). Proportional to what is live, so unlike `--max-old-space-size`
 * it never makes a bigger workload fail. V8 reads the flag at every full collection, so setting it
 * first thing at start-up is enough; `node --heap-growing-percent=<n>` on the command line decides
 * instead (0: V8's default).
 */
export const HEAP_GROWING_PERCENT = 50;

if (!process.execArgv.some((arg) => /^--heap[-_]growing[-_]percent\b/.test(arg))) {
  setFlagsFromString(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
}
