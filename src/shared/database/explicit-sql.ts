import { type EntityData, type EntityMetadata, type EntityName, ReferenceKind, Utils } from '@mikro-orm/core';
import { type EntityManager, PostgreSqlConnection } from '@mikro-orm/postgresql';
import type { Client } from 'pg';
import { logStatements, type PgResult, PreparedStatements } from './prepared-statements';
import { Sql } from './sql';

/*
 * The hot paths (placing an order, opening a checkout) store their changes with a few explicit
 * statements (`Sql`, see `sql.ts`) instead of a unit of work, which costs several times the CPU of
 * the statement itself; the entities still decide every change, and the mapping of their fields to
 * columns is MikroORM's own (its metadata), so a new field is stored without a change here.
 */

/**
 * One statement of several writes: each part is a data-modifying common table expression, all of
 * them run (referenced or not) and commit together or not at all, since they are one statement.
 * `select` is what the statement answers (default: nothing useful, `select 1`).
 */
export function combine(parts: readonly Sql[], select: Sql = Sql.raw('select 1')): Sql {
  if (parts.length === 0) return select;
  const writes = parts.map((part, index) => Sql.join([Sql.raw(`w${index} as (`), part, Sql.raw(')')], ''));
  return Sql.join([Sql.raw('with'), Sql.join(writes, ', '), select], ' ');
}

/** `insert into <table> (<columns>) values (…), (…)` for new entities of one class, as they are now. */
export function insertOf<T extends object>(em: EntityManager, entities: readonly T[]): Sql {
  if (entities.length === 0) throw new Error('insertOf() needs at least one entity');
  const meta = em.getMetadata().get<T>(entities[0].constructor.name);
  const comparator = em.getComparator();
  const data = entities.map((entity) => {
    if (entity.constructor !== entities[0].constructor)
      throw new Error('insertOf() takes one class at a time');
    return comparator.prepareEntity(entity);
  });
  // Generated columns (an autoincrement id) are left out, as the ORM leaves them out.
  const columns = storedProps(meta).filter((prop) => data[0][prop.name] !== undefined);
  const params: unknown[] = [];
  const rows = data.map((row) => {
    for (const prop of columns) params.push(row[prop.name] ?? null);
    return `(${columns.map(() => '?').join(', ')})`;
  });
  return Sql.withValues(
    `insert into ${quote(meta.tableName)} (${columns.map((prop) => quote(prop.fieldNames[0])).join(', ')}) values ${rows.join(', ')}`,
    params,
  );
}

/**
 * `update <table> set … where <primary key> = …` writing every stored field of a loaded entity as it
 * is now (what changed and what did not: the row was read under a lock, so nothing else changed it).
 */
export function updateOf<T extends object>(em: EntityManager, entity: T): Sql {
  const meta = em.getMetadata().get<T>(entity.constructor.name);
  const data = em.getComparator().prepareEntity(entity) as Record<string, unknown>;
  const [primary] = meta.getPrimaryProps();
  const columns = storedProps(meta).filter((prop) => !prop.primary);
  return Sql.withValues(
    `update ${quote(meta.tableName)} set ${columns.map((prop) => `${quote(prop.fieldNames[0])} = ?`).join(', ')} where ${quote(primary.fieldNames[0])} = ?`,
    [...columns.map((prop) => data[prop.name] ?? null), data[primary.name]],
  );
}

/** Runs a statement on the connection of `em` (inside its transaction, if it has one). */
export async function execute<R = Record<string, unknown>>(em: EntityManager, sql: Sql): Promise<R[]> {
  const [rows] = await send(em, [sql]);
  return rows as R[];
}

function rowsOf(results: PgResult | PgResult[]): Record<string, unknown>[][] {
  return (Array.isArray(results) ? results : [results]).map(
    (result) => result.rows as Record<string, unknown>[],
  );
}

/** knex's client: the pool's, or a transaction's (whose connection is the transaction's own). */
interface KnexClient {
  acquireConnection(): Promise<unknown>;
  releaseConnection(connection: unknown): Promise<void>;
}

/**
 * Statements in one round trip (one query string, run in order) on the connection of `em`'s
 * transaction, or on one connection of the pool if it has none; each sent prepared where it can be
 * (`PreparedStatements`: PostgreSQL parses and plans it once per connection). One row list per
 * statement. On the embedded PGlite, through MikroORM's connection as one query.
 */
async function send(em: EntityManager, statements: readonly Sql[]): Promise<Record<string, unknown>[][]> {
  const connection = em.getConnection();
  const transaction = em.getTransactionContext<{ client: KnexClient }>();
  if (!(connection instanceof PostgreSqlConnection)) {
    // The embedded PGlite: through MikroORM's connection, nothing prepared.
    const text = statements.map((statement) => statement.text).join(';\n');
    const answer = await connection.execute<Record<string, unknown>[] | Record<string, unknown>[][]>(
      text,
      statements.flatMap((statement) => statement.values),
      'all',
      transaction,
    );
    // One statement answers its rows; several answer one list of rows each.
    return (statements.length === 1 ? [answer] : answer) as Record<string, unknown>[][];
  }
  const knex = transaction?.client ?? (connection.getKnex().client as KnexClient);
  const client = (await knex.acquireConnection()) as Client;
  try {
    const platform = em.getPlatform();
    const prepared = PreparedStatements.of(platform);
    const query = async (text: string) => (await client.query(text)) as unknown as PgResult | PgResult[];
    const inline = (statement: Sql) => platform.formatQuery(statement.text, [...statement.values]);
    const render = async () => {
      const texts: string[] = [];
      for (const statement of statements) {
        texts.push(await prepared.render(client, query, statement, transaction !== undefined, inline));
      }
      return texts.join(';\n');
    };
    const startedAt = Date.now();
    const log = em.config.getLogger();
    const text = await render();
    try {
      let rows: Record<string, unknown>[][];
      try {
        rows = rowsOf(await query(text));
      } catch (error) {
        prepared.failed(client, text, error);
        // A migration changed what a prepared statement returns. Outside a transaction nothing ran:
        // prepared anew and sent again. Inside one, the transaction failed (its caller answers).
        if (transaction || !PreparedStatements.isResultTypeChange(error)) throw error;
        rows = rowsOf(await query(await render()));
      }
      logStatements(log, statements, inline, startedAt, { results: rows.reduce((n, r) => n + r.length, 0) });
      return rows;
    } catch (error) {
      logStatements(log, statements, inline, startedAt, { failed: true });
      throw error;
    }
  } finally {
    if (!transaction) await knex.releaseConnection(client);
  }
}

/**
 * Tells `em`'s unit of work that a managed entity, as it is now, is what the database holds (its
 * row was just written with explicit SQL): the flush has nothing more to write for it. What it
 * recorded (its domain events) is still written to the outbox at commit.
 */
export function markStored<T extends object>(em: EntityManager, entity: T): void {
  const context = em.getContext();
  const stored: EntityData<T> = context.getComparator().prepareEntity(entity);
  context.getUnitOfWork().register(entity, stored, { refresh: true });
}

/** Runs a statement now, or adds it to `batch` (rows once the batch has run). */
export function query<R = Record<string, unknown>>(
  em: EntityManager,
  batch: SqlBatch | undefined,
  sql: Sql,
): Promise<R[]> {
  return batch ? batch.add<R>(sql) : execute<R>(em, sql);
}

/**
 * An entity from a row read with explicit SQL (columns as stored), managed by `em` as if `em` had
 * loaded it: its changes are flushed like any other. One already managed takes the row's values
 * except where it was changed and not yet flushed (as the ORM's own lookups merge a row).
 */
export function hydrate<T extends object>(em: EntityManager, entity: EntityName<T>, row: object): T {
  const context = em.getContext();
  const meta = context.getMetadata().get<T>(Utils.className(entity));
  const data = context.getDriver().mapResult(row, meta) as EntityData<T>;
  // What `em.findOne` does with the row it read (`em.merge` would keep a managed entity as it is).
  return context.getEntityFactory().create(entity, data, { merge: true, convertCustomTypes: true });
}

/** The table's columns: scalar fields (embeddables flattened) and the owning side of references. */
function storedProps<T>(meta: EntityMetadata<T>) {
  return meta.props.filter(
    (prop) =>
      prop.persist !== false &&
      (prop.kind === ReferenceKind.SCALAR || prop.kind === ReferenceKind.MANY_TO_ONE) &&
      prop.fieldNames?.length === 1,
  );
}

function quote(identifier: string): string {
  return `"${identifier.replace(/"/g, '""')}"`;
}

/**
 * Statements of several modules sent to PostgreSQL in one round trip (one multi-statement query,
 * run in the order added, inside `em`'s transaction if it has one): e.g. the order's lock by the
 * orders module, then the payments module's lock of its attempts. Each module writes its own SQL
 * and adds it when called, before it awaits anything; `add` answers its rows once `run` has run.
 * Await them together with `run` (`Promise.all`), so that a statement that fails fails every
 * promise of the batch.
 */
export class SqlBatch {
  private readonly queued: {
    sql: Sql;
    resolve: (rows: Record<string, unknown>[]) => void;
    reject: (error: unknown) => void;
  }[] = [];
  private ran = false;

  add<R = Record<string, unknown>>(sql: Sql): Promise<R[]> {
    if (this.ran) throw new Error('This batch has run');
    return new Promise<R[]>((resolve, reject) =>
      this.queued.push({ sql, resolve: resolve as (rows: Record<string, unknown>[]) => void, reject }),
    );
  }

  async run(em: EntityManager): Promise<void> {
    this.ran = true;
    const queued = this.queued.splice(0);
    if (queued.length === 0) return;
    try {
      const results = await send(
        em,
        queued.map(({ sql }) => sql),
      );
      queued.forEach(({ resolve }, index) => resolve(results[index]));
    } catch (error) {
      for (const { reject } of queued) reject(error);
      throw error;
    }
  }
}
