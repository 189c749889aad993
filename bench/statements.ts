/**
 * What PostgreSQL itself says each statement cost during a phase (`pg_stat_statements`): how many
 * statements a request takes, and which of them take PostgreSQL's time. That is how a plan that
 * reads far more rows than it needs shows up (round 6: the outbox's mark, hashing every pending
 * delivery per batch, cost more than placing the order). Only where the server loads the module
 * (`shared_preload_libraries = 'pg_stat_statements'`); elsewhere `StatementStats.open` gives
 * undefined and the run goes on without it.
 */
import type { Pool } from 'pg';
import { round } from './load';

/** One statement's account over a phase, keyed by its text as PostgreSQL normalises it. */
export interface StatementCost {
  query: string;
  calls: number;
  execMs: number;
  rows: number;
}

/** A statement's share of each request of a phase. */
export interface StatementShare {
  query: string;
  callsPerRequest: number;
  execMsPerRequest: number;
  rowsPerCall: number;
}

export type StatementSnapshot = Map<string, StatementCost>;

export class StatementStats {
  private constructor(private readonly pool: Pool) {}

  /** The bench database's statistics, if the server collects them (nothing is created otherwise). */
  static async open(pool: Pool): Promise<StatementStats | undefined> {
    try {
      const { rows } = await pool.query<{ loaded: boolean }>(
        `select coalesce(current_setting('shared_preload_libraries', true), '') like '%pg_stat_statements%' as loaded`,
      );
      if (!rows[0].loaded) return undefined;
      await pool.query('create extension if not exists pg_stat_statements');
      await pool.query('select 1 from pg_stat_statements limit 1');
      return new StatementStats(pool);
    } catch {
      return undefined;
    }
  }

  /** Every statement of this database so far (cumulative: compare two with `statementsBetween`). */
  async snapshot(): Promise<StatementSnapshot> {
    const { rows } = await this.pool.query<{
      id: string;
      query: string;
      calls: number;
      exec_ms: number;
      rows: number;
    }>(
      `select queryid::text || ':' || userid::text || ':' || toplevel::text as id, query,
              calls::float8 as calls, total_exec_time as exec_ms, rows::float8 as rows
         from pg_stat_statements
        where dbid = (select oid from pg_database where datname = current_database())
          and query not like '%pg_stat_statements%'`,
    );
    return new Map(
      rows.map((row) => [
        row.id,
        { query: row.query, calls: row.calls, execMs: row.exec_ms, rows: row.rows },
      ]),
    );
  }
}

/** What ran between two snapshots: each statement's calls, time and rows in between (if it ran). */
export function statementsBetween(before: StatementSnapshot, after: StatementSnapshot): StatementCost[] {
  const ran: StatementCost[] = [];
  for (const [id, now] of after) {
    const then = before.get(id);
    const calls = now.calls - (then?.calls ?? 0);
    if (calls <= 0) continue;
    ran.push({
      query: now.query,
      calls,
      execMs: now.execMs - (then?.execMs ?? 0),
      rows: now.rows - (then?.rows ?? 0),
    });
  }
  return ran;
}

/** Adds the statements of one slice to a phase's, by statement text. */
export function addStatements(into: Map<string, StatementCost>, costs: readonly StatementCost[]): void {
  for (const cost of costs) {
    const key = readable(cost.query);
    const sum = into.get(key) ?? { query: key, calls: 0, execMs: 0, rows: 0 };
    sum.calls += cost.calls;
    sum.execMs += cost.execMs;
    sum.rows += cost.rows;
    into.set(key, sum);
  }
}

/** Each statement's share of a request, the costliest first. */
export function perRequest(costs: Iterable<StatementCost>, requests: number): StatementShare[] {
  const n = Math.max(1, requests);
  return [...costs]
    .sort((a, b) => b.execMs - a.execMs)
    .map((cost) => ({
      query: cost.query,
      callsPerRequest: round(cost.calls / n, 2),
      execMsPerRequest: round(cost.execMs / n, 3),
      rowsPerCall: round(cost.rows / cost.calls, 1),
    }));
}

/**
 * A statement's text on one line, without the name a prepared statement was given (`prepare
 * pfs_… as`, different per text but not telling which).
 */
export function readable(query: string): string {
  return query
    .replace(/\s+/g, ' ')
    .trim()
    .replace(/^prepare \S+ as /i, '');
}
