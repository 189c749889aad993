import { createHash } from 'node:crypto';
import { Logger } from '@nestjs/common';
import type { Sql } from './sql';

/** What a `pg` client answers a query string with: one result per statement. */
export interface PgResult {
  rows: object[];
}

/** Sends one query string on a connection (and notes whether the connection is still sound). */
export type Send = (text: string) => Promise<PgResult | PgResult[]>;

/** A statement's text with `$1…$n` for its placeholders, and the name it is prepared under. */
interface Shape {
  name: string;
  /** The statement's own text (`?` placeholders). */
  source: string;
  text: string;
  /** PostgreSQL's type of each parameter, once prepared somewhere. */
  types?: readonly string[];
}

/** How PostgreSQL names the types a JavaScript number is inlined as (integer or numeric literals). */
const NUMERIC = new Set(['smallint', 'integer', 'bigint', 'numeric', 'real', 'double precision']);

/**
 * A statement whose own result is `*` (`select * from …`, `select o.*, …`, `returning *`): a
 * migration that adds a column changes what it returns, and PostgreSQL then refuses to run its
 * prepared form ("cached plan must not change result type"), which inside a transaction would fail
 * the caller's work once per connection. Such statements are sent inline. (`*` inside a `with`
 * entry that the statement turns into JSON is no such case.)
 */
const STAR_RESULT = /^\s*select\s+(?:[\w"]+\.)?\*|\breturning\s+(?:[\w"]+\.)?\*/i;

/** Distinct statement texts remembered; past this, new texts are sent inline. */
const MAX_SHAPES = 500;
/** Statements prepared on one connection; past this, new ones are sent inline there. */
const MAX_PER_CONNECTION = 200;

/** SQLSTATE `0A000` with this message: a prepared statement whose result type changed (a migration). */
const RESULT_TYPE_CHANGED = /cached plan must not change result type/;

const registries = new WeakMap<object, PreparedStatements>();

/**
 * Server-side prepared statements for the hand-written statements of the hot paths. Sent inline
 * (values quoted into the text), PostgreSQL parses and plans every statement anew, and for the
 * webhook's statements (a dozen CTEs) planning costs about as much as running them. Prepared once
 * per connection (`PREPARE`, by a name derived from the text) and run as `EXECUTE name(values)`,
 * each is parsed once and, after a few runs, planned once.
 *
 * The values are still quoted by MikroORM's platform, so each reaches PostgreSQL as the same
 * literal it would be inline, now an argument coerced to the parameter's type. Where that could
 * differ (PostgreSQL typed a parameter `text` where a number or a boolean goes: a value in a select
 * list without a cast), the statement is not prepared and goes inline as before; so does one with a
 * list of values (an array), or one PostgreSQL refuses to prepare. `PREPARE` happens outside the
 * transaction or under a savepoint, so a refusal never aborts the caller's work.
 */
export class PreparedStatements {
  private readonly logger = new Logger(PreparedStatements.name);
  private readonly shapes = new Map<string, Shape | null>();
  private readonly prepared = new WeakMap<object, Set<string>>();
  /** Names whose plan on a connection is unusable (its result type changed): prepared anew there. */
  private readonly stale = new WeakMap<object, Set<string>>();

  /** Off: every statement is sent inline (`DATABASE_PREPARED_STATEMENTS=false`). */
  enabled = true;

  constructor(private readonly quote: (value: unknown) => string) {}

  /**
   * The statement with its values quoted into its text, as it is sent when not prepared (and as it
   * is logged with its values): the same quoting as the prepared form's arguments. Every `?` of an
   * `Sql` is a placeholder (the `sql` tag refuses literal ones, `Sql.withValues` counts them).
   */
  readonly inline = (statement: Sql): string => {
    let index = 0;
    return statement.text.replace(/\?/g, () => this.quote(statement.values[index++]));
  };

  /**
   * The one registry for a database platform: which statements are prepared on which connection is
   * a fact about the connections, shared by every path that sends statements on them.
   */
  static of(platform: { quoteValue(value: unknown): unknown }): PreparedStatements {
    let prepared = registries.get(platform);
    if (!prepared) {
      prepared = new PreparedStatements(withFastStrings((value) => platform.quoteValue(value) as string));
      registries.set(platform, prepared);
    }
    return prepared;
  }

  /**
   * The text to send for `statement` on `connection` when nothing has to be sent first: the
   * statement inline (not preparable), or `EXECUTE` of its form already prepared there. Undefined
   * when it is still to be prepared on that connection (`render` does that).
   */
  renderNow(connection: object, statement: Sql): string | undefined {
    const shape = this.enabled ? this.shapeOf(statement) : null;
    if (!shape) return this.inline(statement);
    if (!this.prepared.get(connection)?.has(shape.name)) return undefined;
    return this.execute(shape, statement);
  }

  /**
   * The text to send for `statement` on `connection`: `EXECUTE` of its prepared form (preparing it
   * first, one extra round trip per connection and statement), or the statement inline.
   * `inTransaction`: a transaction is open there, so `PREPARE` goes under a savepoint.
   */
  async render(connection: object, send: Send, statement: Sql, inTransaction: boolean): Promise<string> {
    const now = this.renderNow(connection, statement);
    if (now !== undefined) return now;
    const shape = this.shapeOf(statement)!;
    let names = this.prepared.get(connection);
    if (!names) this.prepared.set(connection, (names = new Set()));
    if (names.size >= MAX_PER_CONNECTION) return this.inline(statement);
    if (!(await this.prepare(connection, send, shape, statement.values, inTransaction)))
      return this.inline(statement);
    names.add(shape.name);
    return this.execute(shape, statement);
  }

  /** `EXECUTE` of the prepared `shape` with the statement's values, or inline if one would change type. */
  private execute(shape: Shape, statement: Sql): string {
    if (!shape.types || !fits(statement.values, shape.types)) return this.inline(statement);
    const args = statement.values.map((value) => this.quote(value));
    return args.length ? `execute ${shape.name}(${args.join(', ')})` : `execute ${shape.name}`;
  }

  /**
   * After `text` failed with PostgreSQL's `error` on `connection`: a prepared statement whose plan
   * can no longer run (a migration changed what it returns) is prepared anew there next time.
   */
  failed(connection: object, text: string, error: unknown): void {
    if (!PreparedStatements.isResultTypeChange(error)) return;
    let stale = this.stale.get(connection);
    if (!stale) this.stale.set(connection, (stale = new Set()));
    // Which of them failed is not told: every one in the text is prepared anew.
    for (const [, name] of text.matchAll(/(?:^|; ?\n?)execute (pfs_\w+)/g)) {
      this.prepared.get(connection)?.delete(name);
      stale.add(name);
    }
  }

  /**
   * PostgreSQL refused to run a prepared statement whose result type a migration changed (`select *`
   * of a table that gained a column). Nothing ran; once `failed` has been told, it is prepared anew.
   */
  static isResultTypeChange(error: unknown): boolean {
    const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown };
    return code === '0A000' && typeof message === 'string' && RESULT_TYPE_CHANGED.test(message);
  }

  private shapeOf(statement: Sql): Shape | null {
    if (!statement.values.every(preparable)) return null;
    const known = this.shapes.get(statement.text);
    if (known !== undefined) return known;
    if (this.shapes.size >= MAX_SHAPES) return null;
    if (STAR_RESULT.test(statement.text)) {
      this.shapes.set(statement.text, null);
      return null;
    }
    let n = 0;
    // Every `?` in an `Sql` is a placeholder (the `sql` tag refuses literal ones).
    const text = statement.text.replace(/\?/g, () => `$${++n}`);
    const name = `pfs_${createHash('sha1').update(statement.text).digest('hex').slice(0, 24)}`;
    const shape: Shape = { name, source: statement.text, text };
    this.shapes.set(statement.text, shape);
    return shape;
  }

  /** Prepares `shape` on the connection; false if PostgreSQL refused it (it then goes inline). */
  private async prepare(
    connection: object,
    send: Send,
    shape: Shape,
    values: readonly unknown[],
    inTransaction: boolean,
  ): Promise<boolean> {
    const stale = this.stale.get(connection);
    const drop = stale?.delete(shape.name) ? `deallocate ${shape.name}; ` : '';
    const prepare = `${drop}prepare ${shape.name} as ${shape.text}`;
    const types = `select parameter_types::text[] as types from pg_prepared_statements where name = '${shape.name}'`;
    try {
      const results = await send(
        inTransaction
          ? `savepoint prepare_statement; ${prepare}; release savepoint prepare_statement; ${types}`
          : `${prepare}; ${types}`,
      );
      const last = Array.isArray(results) ? results[results.length - 1] : results;
      shape.types ??= ((last.rows[0] as { types?: string[] } | undefined)?.types ?? []).map(String);
      if (!fits(values, shape.types)) {
        // A cast in the statement (`${n}::int`) lets it be prepared.
        this.shapes.set(shape.source, null);
        this.logger.log(
          { statement: shape.text.slice(0, 120), types: shape.types },
          'A value would change type as a parameter: the statement is sent inline',
        );
      }
      return true;
    } catch (error) {
      if (!hasSqlState(error)) throw error;
      if (inTransaction)
        await send('rollback to savepoint prepare_statement; release savepoint prepare_statement');
      this.shapes.set(shape.source, null);
      this.logger.warn(
        { err: (error as Error).message, statement: shape.text.slice(0, 120) },
        'A statement could not be prepared: it is sent inline',
      );
      return false;
    }
  }
}

/**
 * Whether each value reaches its parameter as it would reach the statement inline: a quoted literal
 * (a string, a date, JSON, null) takes its type from where it stands either way; a number or a
 * boolean keeps its own type inline, so its parameter must have it.
 */
function fits(values: readonly unknown[], types: readonly string[]): boolean {
  return values.every((value, index) => {
    const type = types[index];
    if (typeof value === 'number') return NUMERIC.has(type);
    if (typeof value === 'boolean') return type === 'boolean';
    return true;
  });
}

/** Values that are one literal each when quoted (a list is several, a binary value is left inline). */
function preparable(value: unknown): boolean {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return true;
  if (typeof value === 'number') return Number.isFinite(value);
  if (value instanceof Date) return !Number.isNaN(value.getTime());
  return typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype;
}

/** MikroORM's query log (`debug` on: `LOG_LEVEL=debug`), as its own queries are logged. */
export interface QueryLog {
  isEnabled(namespace: 'query' | 'query-params'): boolean;
  logQuery(context: { query: string; took: number; results?: number; level?: 'info' | 'error' }): void;
}

/**
 * Logs explicit statements in MikroORM's query log, as it logs its own: the text with its
 * placeholders, the values only where `query-params` logging is on (values hold e-mails).
 */
export function logStatement(
  log: QueryLog,
  statement: Sql,
  inline: (statement: Sql) => string,
  startedAt: number,
  outcome: { results: number } | { failed: true },
): void {
  if (!log.isEnabled('query')) return;
  const query = log.isEnabled('query-params') ? inline(statement) : statement.text;
  const took = Date.now() - startedAt;
  log.logQuery(
    'failed' in outcome ? { query, took, level: 'error' } : { query, took, results: outcome.results },
  );
}

/** PostgreSQL answered with an error (a SQLSTATE): the connection itself is sound. */
export function hasSqlState(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code);
}

/**
 * A string as a PostgreSQL literal, exactly as `pg`'s `escapeLiteral` (which MikroORM's PostgreSQL
 * platform quotes strings with) writes it: quotes doubled; with a backslash, backslashes doubled and
 * the literal written `E'…'` after a space. `escapeLiteral` builds its result a character at a
 * time, a string per character: on the webhook's path that was a seventh of all it allocated. Two
 * native replacements write the same text.
 */
export function quotePostgresString(value: string): string {
  const quoted = value.replaceAll("'", "''");
  return value.includes('\\') ? ` E'${quoted.replaceAll('\\', '\\\\')}'` : `'${quoted}'`;
}

/** Strings that tell one quoting from another: quotes, backslashes, both, neither, none. */
const QUOTING_PROBES = ['', 'plain', "it's", 'back\\slash', "\\'\\''", 'é ✓ \u{1F600}'];

/**
 * `quote`, with strings quoted by `quotePostgresString` if `quote` writes them exactly so (checked
 * once, on strings that tell quotings apart); otherwise `quote` itself (another platform's quoting).
 */
export function withFastStrings(quote: (value: unknown) => string): (value: unknown) => string {
  if (!QUOTING_PROBES.every((probe) => quote(probe) === quotePostgresString(probe))) return quote;
  return (value) => (typeof value === 'string' ? quotePostgresString(value) : quote(value));
}
