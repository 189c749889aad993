import { MikroORM } from '@mikro-orm/core';
import type { AbstractSqlConnection } from '@mikro-orm/knex';
import { Injectable } from '@nestjs/common';
import { AppConfig } from '../../config';
import {
  hasSqlState,
  logStatement,
  type PgResult,
  PreparedStatements,
  type QueryLog,
} from './prepared-statements';
import type { Sql } from './sql';

/** A transaction of hand-written statements (see `SqlTransactions`). */
export interface SqlTransaction {
  /** Runs a statement in the transaction (the first one also opens it) and returns its rows. */
  query<R extends object>(statement: Sql): Promise<R[]>;
  /** Runs the last statement, if any, and commits; returns that statement's rows. */
  commit<R extends object>(statement?: Sql): Promise<R[]>;
}

/** The `pg` client under MikroORM's knex pool. */
interface PgConnection {
  query(text: string): Promise<PgResult | PgResult[]>;
  end(): Promise<void>;
  /** knex's mark for a connection its pool must not hand out again (checked by the pool's validation). */
  __knex__disposed?: unknown;
}

/** knex's pool of `pg` clients, under MikroORM's connection. */
interface KnexPool {
  acquireConnection(): Promise<unknown>;
  releaseConnection(connection: unknown): Promise<void>;
}

/**
 * Transactions of a few hand-written statements, for paths where round trips are the cost (the
 * webhook): on PostgreSQL, on one connection of MikroORM's pool, `BEGIN` travels with the first
 * statement and `COMMIT` with the last (one query string each), so a read-decide-write transaction
 * is two round trips. Each statement is prepared on its connection where it can be, else sent with
 * its values quoted into it (`PreparedStatements`).
 * On the embedded PGlite, which takes one statement per query, through MikroORM's own transaction.
 *
 * A failure rolls back; a connection whose state is unknown (no answer: a timeout, a lost socket)
 * is discarded rather than returned to the pool, since a statement still queued on it could open
 * a transaction there later.
 */
@Injectable()
export class SqlTransactions {
  private readonly prepared: PreparedStatements;

  constructor(
    private readonly orm: MikroORM,
    private readonly config: AppConfig,
  ) {
    this.prepared = PreparedStatements.of(orm.em.getPlatform());
  }

  async run<T>(work: (tx: SqlTransaction) => Promise<T>): Promise<T> {
    const connection = this.orm.em.getConnection() as AbstractSqlConnection;
    if (this.config.database.kind !== 'postgresql') return this.runSeparately(connection, work);
    try {
      return await this.runOnce(connection, work);
    } catch (error) {
      // A migration changed what a prepared statement returns: rolled back, and prepared anew now.
      if (!PreparedStatements.isResultTypeChange(error)) throw error;
      return this.runOnce(connection, work);
    }
  }

  private async runOnce<T>(
    connection: AbstractSqlConnection,
    work: (tx: SqlTransaction) => Promise<T>,
  ): Promise<T> {
    const pool = connection.getKnex().client as KnexPool;
    const client = (await pool.acquireConnection()) as PgConnection;
    const tx = new OneTripTransaction(client, this.prepared, this.orm.config.getLogger());
    try {
      const result = await work(tx);
      if (!tx.done) await tx.commit();
      return result;
    } catch (error) {
      await tx.abandon(error);
      throw error;
    } finally {
      await pool.releaseConnection(client);
    }
  }

  private async runSeparately<T>(
    connection: AbstractSqlConnection,
    work: (tx: SqlTransaction) => Promise<T>,
  ): Promise<T> {
    return connection.transactional(async (trx) => {
      const query = <R extends object>(statement: Sql) =>
        connection.execute<R[]>(statement.text, [...statement.values], 'all', trx);
      return work({ query, commit: async (statement) => (statement ? query(statement) : []) });
    });
  }
}

class OneTripTransaction implements SqlTransaction {
  /** `open`: BEGIN was sent; `ending`: the COMMIT was sent; `done`: committed (or never opened). */
  private state: 'new' | 'open' | 'ending' | 'done' = 'new';
  /** A query went unanswered (a timeout, a lost socket): what the connection holds is unknown. */
  private unsound = false;

  constructor(
    private readonly client: PgConnection,
    private readonly prepared: PreparedStatements,
    private readonly log: QueryLog,
  ) {}

  get done(): boolean {
    return this.state === 'done';
  }

  async query<R extends object>(statement: Sql): Promise<R[]> {
    if (this.state === 'ending' || this.state === 'done') throw new Error('The transaction is over');
    const opening = this.state === 'new';
    const rendered = this.render(statement, !opening);
    const text = rendered instanceof Promise ? await rendered : rendered;
    this.state = 'open';
    const results = await this.logged(statement, this.send(opening ? `begin; ${text}` : text));
    return lastRows(results) as R[];
  }

  async commit<R extends object>(statement?: Sql): Promise<R[]> {
    if (this.state === 'ending' || this.state === 'done') throw new Error('The transaction is over');
    if (this.state === 'new') {
      // Nothing opened: the statement, if any, is a transaction of its own.
      const rendered = statement ? this.render(statement, false) : null;
      const text = rendered instanceof Promise ? await rendered : rendered;
      this.state = 'done';
      return statement && text ? (lastRows(await this.logged(statement, this.send(text))) as R[]) : [];
    }
    const rendered = statement ? this.render(statement, true) : null;
    const text = rendered instanceof Promise ? await rendered : rendered;
    this.state = 'ending';
    const results = await this.logged(statement, this.send(text ? `${text}; commit` : 'commit'));
    this.state = 'done';
    // The statement's rows, before the commit's (none).
    return (statement && Array.isArray(results) ? results[0].rows : []) as R[];
  }

  /** After a failure: rolled back, or the connection discarded when its state is unknown. */
  async abandon(error: unknown): Promise<void> {
    const open = this.state === 'open' || this.state === 'ending';
    this.state = 'done';
    if (this.unsound) return this.discard(error);
    if (!open) return;
    try {
      await this.client.query('rollback');
    } catch (rollbackError) {
      this.discard(rollbackError);
    }
  }

  /**
   * `sending` (the statement's round trip) in MikroORM's query log, as MikroORM logs its own; with
   * that log off (the default), `sending` itself: no promise wrapped around it.
   */
  private logged<T extends PgResult | PgResult[]>(
    statement: Sql | undefined,
    sending: Promise<T>,
  ): Promise<T> {
    if (!statement || !this.log.isEnabled('query')) return sending;
    return this.timed(statement, sending);
  }

  private async timed<T extends PgResult | PgResult[]>(statement: Sql, sending: Promise<T>): Promise<T> {
    const startedAt = Date.now();
    try {
      const results = await sending;
      const all: PgResult[] = Array.isArray(results) ? results : [results];
      const rows = all.reduce((n, result) => n + result.rows.length, 0);
      logStatement(this.log, statement, this.prepared.inline, startedAt, { results: rows });
      return results;
    } catch (error) {
      logStatement(this.log, statement, this.prepared.inline, startedAt, { failed: true });
      throw error;
    }
  }

  /**
   * The statement as sent: prepared on this connection where it can be, else inline. A string at
   * once when nothing has to be sent first (the usual case: prepared here before), so that the hot
   * path awaits no promise of its own for it.
   */
  private render(statement: Sql, inTransaction: boolean): string | Promise<string> {
    return (
      this.prepared.renderNow(this.client, statement) ??
      this.prepared.render(this.client, (text) => this.send(text), statement, inTransaction)
    );
  }

  private async send(text: string): Promise<PgResult | PgResult[]> {
    try {
      return await this.client.query(text);
    } catch (error) {
      // PostgreSQL answered with an error (a SQLSTATE): the connection is sound, its transaction aborted.
      if (!hasSqlState(error)) this.unsound = true;
      else this.prepared.failed(this.client, text, error);
      throw error;
    }
  }

  private discard(reason: unknown): void {
    this.client.__knex__disposed = reason ?? 'discarded';
    void this.client.end().catch(() => undefined);
  }
}

function lastRows(results: PgResult | PgResult[]): object[] {
  return Array.isArray(results) ? results[results.length - 1].rows : results.rows;
}
