import { runChaos } from '../support/chaos';

/** `npm test` runs it at a size CI affords; `npm run chaos` at full size (CHAOS_ORDERS=5000). */
const ORDERS = Number(process.env.CHAOS_ORDERS ?? 300);

describe(`Chaos: ${ORDERS} orders, two instances, faults`, () => {
  it('every order ends as its story says, with exactly its history; every client heard it', async () => {
    const report = await runChaos(ORDERS, (line) => process.stdout.write(`[chaos] ${line}\n`));
    process.stdout.write(
      [
        `[chaos] orders: ${report.orders} (clients: ${report.clients}), ${report.seconds} s`,
        `[chaos] faults: ${report.faults.join('; ')}`,
        `[chaos] events delivered: ${report.eventsDelivered}, duplicates absorbed: ${report.duplicatesAbsorbed}`,
        `[chaos] redeliveries: ${report.redeliveries} (first deliveries failed on purpose: ${report.failedFirstDeliveries})`,
        `[chaos] outbox retries: ${report.outboxRetries}`,
        `[chaos] mismatches: ${report.mismatches.length}, lost: ${report.lost.length}, doubled: ${report.doubled.length}, clients without their final status: ${report.clientsWrong.length}`,
        '',
      ].join('\n'),
    );
    expect(report.faults).toHaveLength(3);
    expect(report.failedFirstDeliveries).toBeGreaterThan(0);
    expect(report.duplicatesAbsorbed).toBeGreaterThan(0);
    expect(report.mismatches).toEqual([]);
    expect(report.lost).toEqual([]);
    expect(report.doubled).toEqual([]);
    expect(report.clientsWrong).toEqual([]);
  }, 1_800_000);
});
