import { statementRows } from './report';
import { addStatements, perRequest, readable, type StatementSnapshot, statementsBetween } from './statements';

const snapshot = (entries: [string, string, number, number, number][]): StatementSnapshot =>
  new Map(entries.map(([id, query, calls, execMs, rows]) => [id, { query, calls, execMs, rows }]));

describe('bench: PostgreSQL statement accounts per request', () => {
  it('takes what ran between two snapshots, leaves out what did not run, and counts a new statement whole', () => {
    const before = snapshot([
      ['1', 'begin', 10, 0.5, 0],
      ['2', 'prepare pfs_ab as update outbox_deliveries set x = $1', 4, 8, 4],
      ['3', 'select 1', 7, 1, 7],
    ]);
    const after = snapshot([
      ['1', 'begin', 30, 1.5, 0],
      ['2', 'prepare pfs_ab as update outbox_deliveries set x = $1', 6, 20, 10],
      ['3', 'select 1', 7, 1, 7],
      ['4', 'insert into orders values ($1)', 5, 2.5, 5],
    ]);
    expect(statementsBetween(before, after)).toEqual([
      { query: 'begin', calls: 20, execMs: 1, rows: 0 },
      { query: 'prepare pfs_ab as update outbox_deliveries set x = $1', calls: 2, execMs: 12, rows: 6 },
      { query: 'insert into orders values ($1)', calls: 5, execMs: 2.5, rows: 5 },
    ]);
  });

  it('adds slices by readable text (a prepared statement by its text, not its name) and ranks them per request', () => {
    const phase = new Map();
    addStatements(phase, [
      { query: 'prepare pfs_1 as  update t\n  set a = $1', calls: 3, execMs: 6, rows: 3 },
      { query: 'begin', calls: 10, execMs: 0.1, rows: 0 },
    ]);
    addStatements(phase, [{ query: 'prepare pfs_2 as update t set a = $1', calls: 7, execMs: 4, rows: 14 }]);
    expect(perRequest(phase.values(), 10)).toEqual([
      { query: 'update t set a = $1', callsPerRequest: 1, execMsPerRequest: 1, rowsPerCall: 1.7 },
      { query: 'begin', callsPerRequest: 1, execMsPerRequest: 0.01, rowsPerCall: 0 },
    ]);
    expect(readable('PREPARE pfs_x AS select\n 1')).toBe('select 1');
  });

  it('prints the count and time per request and the costliest five, and nothing without an account', () => {
    const shares = perRequest(
      Array.from({ length: 7 }, (_, i) => ({ query: `select ${i}`, calls: 10, execMs: i + 1, rows: 10 })),
      10,
    );
    const rows = statementRows(shares, 'event');
    expect(rows.map((row) => row[5])).toEqual([
      '7.0 per event, 2.80 ms executing',
      '  0.700 ms, 1x: select 6',
      '  0.600 ms, 1x: select 5',
      '  0.500 ms, 1x: select 4',
      '  0.400 ms, 1x: select 3',
      '  0.300 ms, 1x: select 2',
    ]);
    expect(statementRows(undefined, 'event')).toEqual([]);
  });
});
