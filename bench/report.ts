import type { BenchResult } from './harness';
import type { Latency } from './load';
import type { StatementShare } from './statements';

const ms = (value: number) => (Number.isNaN(value) ? '–' : `${value} ms`);
const lat = (l: Latency) => [ms(l.p50), ms(l.p99)];
const cpu = (value: number | undefined) =>
  value === undefined || Number.isNaN(value) ? '' : `; ${value} ms CPU/event`;

/** How many statements PostgreSQL ran per request, and the costliest of them (where it says). */
export function statementRows(shares: readonly StatementShare[] | undefined, unit: string): string[][] {
  if (!shares?.length) return [];
  const calls = shares.reduce((sum, share) => sum + share.callsPerRequest, 0);
  const execMs = shares.reduce((sum, share) => sum + share.execMsPerRequest, 0);
  return [
    ['  statements', '', '', '', '', `${calls.toFixed(1)} per ${unit}, ${execMs.toFixed(2)} ms executing`],
    ...shares
      .slice(0, 5)
      .map((share) => [
        '',
        '',
        '',
        '',
        '',
        `  ${share.execMsPerRequest.toFixed(3)} ms, ${share.callsPerRequest}x: ${share.query.slice(0, 70)}`,
      ]),
  ];
}

/** The run as a plain-text table (what `npm run bench` prints). */
export function formatTable(result: BenchResult): string {
  const rows: string[][] = [['scenario', 'count', 'per second', 'p50', 'p99', 'notes']];
  const { webhooks, duplicates, floor, push, customer, memory, startup } = result;
  if (webhooks) {
    rows.push([
      'webhooks, new events',
      String(webhooks.sent),
      String(webhooks.perSecond),
      ...lat(webhooks.latency),
      `${webhooks.verified.paidOrders} orders paid in DB; CPU/event ${webhooks.cpuMsPerEvent ?? '?'} ms, PostgreSQL ${webhooks.postgresCpuMsPerEvent ?? '?'} ms`,
    ]);
    rows.push(...statementRows(webhooks.statements, 'event'));
  }
  if (duplicates) {
    rows.push([
      'webhooks, half duplicates',
      String(duplicates.sent),
      String(duplicates.perSecond),
      ...lat(duplicates.latency),
      `${duplicates.verified.deliveries} deliveries in ledger; ${duplicates.cpuMsPerEvent ?? '?'} ms CPU/request`,
    ]);
    rows.push(['  of which new', '', '', ...lat(duplicates.newLatency), '']);
    rows.push(['  of which duplicates', '', '', ...lat(duplicates.duplicateLatency), '']);
  }
  if (floor) {
    rows.push([
      'floor (node:http + pg)',
      String(floor.sent),
      String(floor.perSecond),
      ...lat(floor.latency),
      `${floor.verified.paidOrders} orders paid in DB; CPU/event ${floor.cpuMsPerEvent ?? '?'} ms, PostgreSQL ${floor.postgresCpuMsPerEvent ?? '?'} ms`,
    ]);
    rows.push(...statementRows(floor.statements, 'event'));
  }
  if (result.ratioToFloor !== undefined)
    rows.push([
      'service / floor',
      '',
      String(result.ratioToFloor),
      '',
      '',
      `throughput ratio; by CPU per event: ${result.cpuRatioToFloor ?? '?'}`,
    ]);
  if (push) {
    rows.push([
      `push, 1 at a time (${push.clients} clients)`,
      String(push.oneAtATime.webhooks),
      '',
      ...lat(push.oneAtATime.latency),
      `${push.oneAtATime.lost} lost${cpu(push.oneAtATime.cpuMsPerEvent)}`,
    ]);
    rows.push([
      `push, ${push.concurrent.concurrency} at a time`,
      String(push.concurrent.webhooks),
      '',
      ...lat(push.concurrent.latency),
      `${push.concurrent.lost} lost${cpu(push.concurrent.cpuMsPerEvent)}`,
    ]);
  }
  for (const [name, run, processName] of [
    ['customer path (order + checkout)', customer, 'service'],
    ['customer floor (node:http + pg)', result.customerFloor, 'floor'],
  ] as const) {
    if (!run) continue;
    rows.push([name, String(run.pairs), String(run.perSecond), ...lat(run.latency), `${run.errors} errors`]);
    if (run.cpuMsPerPair) {
      const cpu = run.cpuMsPerPair;
      rows.push([
        '  CPU per pair',
        '',
        '',
        '',
        '',
        `${processName} ${cpu.service} ms, sandbox ${cpu.sandbox} ms, PostgreSQL ${cpu.postgres} ms; ` +
          `${run.transactionsPerPair ?? '?'} commits/pair`,
      ]);
    }
    rows.push(...statementRows(run.statements, 'pair'));
  }
  if (result.customerRatioToFloor !== undefined) {
    rows.push([
      'service / floor',
      '',
      String(result.customerRatioToFloor),
      '',
      '',
      'customer path, pairs per second',
    ]);
  }
  if (memory)
    rows.push([
      'peak RSS, scenario 1',
      '',
      '',
      '',
      '',
      `${memory.peakMb} MB (${memory.beforeMb} MB before, ${memory.clients} clients)`,
    ]);
  if (startup)
    rows.push([
      'start-up to ready',
      String(startup.readyMs.length),
      '',
      `${startup.medianMs} ms`,
      '',
      `runs: ${startup.readyMs.join(', ')} ms; first (migrating): ${startup.firstStartMs} ms`,
    ]);
  for (const [name, count] of [
    ['service', result.instructions?.service],
    ['floor', result.instructions?.floor],
  ] as const) {
    if (!count) continue;
    rows.push([
      `instructions, ${name}`,
      String(count.events),
      '',
      '',
      '',
      `per new event: ${count.mainThread} M on the JavaScript thread, ${count.allThreads} M on all threads (callgrind)`,
    ]);
  }
  if (result.instructionRatioToFloor !== undefined)
    rows.push([
      'service / floor, instructions',
      '',
      String(result.instructionRatioToFloor),
      '',
      '',
      "floor's instructions per event over the service's, JavaScript thread",
    ]);
  const widths = rows[0].map((_, column) => Math.max(...rows.map((row) => row[column].length)));
  const line = (row: string[]) =>
    row
      .map((cell, column) =>
        column === 0 || column === 5 ? cell.padEnd(widths[column]) : cell.padStart(widths[column]),
      )
      .join('  ')
      .trimEnd();
  const text = [line(rows[0]), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.slice(1).map(line)];
  if (result.problems.length) text.push('', 'PROBLEMS:', ...result.problems.map((p) => `  - ${p}`));
  return text.join('\n');
}
