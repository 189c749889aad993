import { type EntityData, type EntityMetadata, type EntityName, ReferenceKind, Utils } from '@mikro-orm/core';
import { type EntityManager, PostgreSqlConnection } from '@mikro-orm/postgresql';
import type { Client } from 'pg';
import { logStatement, type PgResult, PreparedStatements } from './prepared-statements';
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

/**
 * `insert into <table> (<columns>) values (…), (…)` for new entities of one class, as they are now.
 * With `when` (a condition of the caller's statement, e.g. a `WriteStatement`'s gate), the rows are
 * inserted only if it holds: `insert … select * from (values …) as row where <when>`, each value
 * cast to its column's type (a `values` list outside an `insert` would type them as text).
 */
export function insertOf<T extends object>(em: EntityManager, entities: readonly T[], when?: Sql): Sql {
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
  const placeholders = columns.map((prop) => (when ? `?::${prop.columnTypes[0]}` : '?')).join(', ');
  const params: unknown[] = [];
  const rows = data.map((row) => {
    for (const prop of columns) params.push(row[prop.name] ?? null);
    return `(${placeholders})`;
  });
  const into = `insert into ${quote(meta.tableName)} (${columns.map((prop) => quote(prop.fieldNames[0])).join(', ')})`;
  if (!when) return Sql.withValues(`${into} values ${rows.join(', ')}`, params);
  return Sql.join(
    [Sql.withValues(`${into} select * from (values ${rows.join(', ')}) as row where `, params), when],
    '',
  );
}

/** knex's client: the pool's, or a transaction's (whose connection is the transaction's own). */
interface KnexClient {
  acquireConnection(): Promise<unknown>;
  releaseConnection(connection: unknown): Promise<void>;
}

/**
 * Runs a statement on the connection of `em`'s transaction, or on one connection of the pool if it
 * has none; prepared where it can be (`PreparedStatements`: PostgreSQL parses and plans it once per
 * connection). On the embedded PGlite, through MikroORM's connection.
 */
export async function execute<R = Record<string, unknown>>(em: EntityManager, statement: Sql): Promise<R[]> {
  const connection = em.getConnection();
  const transaction = em.getTransactionContext<{ client: KnexClient }>();
  if (!(connection instanceof PostgreSqlConnection)) {
    return connection.execute<R[]>(statement.text, [...statement.values], 'all', transaction);
  }
  const knex = transaction?.client ?? (connection.getKnex().client as KnexClient);
  const client = (await knex.acquireConnection()) as Client;
  try {
    const prepared = PreparedStatements.of(em.getPlatform());
    const query = (text: string) => client.query(text) as unknown as Promise<PgResult>;
    const render = () => prepared.render(client, query, statement, transaction !== undefined);
    const log = em.config.getLogger();
    const startedAt = Date.now();
    // At once when prepared on this connection before (the usual case), else prepared first.
    const text = prepared.renderNow(client, statement) ?? (await render());
    try {
      let result: PgResult;
      try {
        result = await query(text);
      } catch (error) {
        prepared.failed(client, text, error);
        // A migration changed what a prepared statement returns. Outside a transaction nothing ran:
        // prepared anew and sent again. Inside one, the transaction failed (its caller answers).
        if (transaction || !PreparedStatements.isResultTypeChange(error)) throw error;
        result = await query(await render());
      }
      logStatement(log, statement, prepared.inline, startedAt, { results: result.rows.length });
      return result.rows as R[];
    } catch (error) {
      logStatement(log, statement, prepared.inline, startedAt, { failed: true });
      throw error;
    }
  } finally {
    if (!transaction) await knex.releaseConnection(client);
  }
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
