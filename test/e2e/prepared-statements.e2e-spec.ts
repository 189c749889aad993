import { PostgreSqlPlatform } from '@mikro-orm/postgresql';
import { Client } from 'pg';
import { execute } from '../../src/shared/database/explicit-sql';
import { PreparedStatements, type PgResult } from '../../src/shared/database/prepared-statements';
import { type Sql, sql } from '../../src/shared/database/sql';
import { SqlTransactions } from '../../src/shared/database/sql-transactions';
import { createTestApp, type TestApp } from '../support/app';

/**
 * The hot paths' hand-written statements go to PostgreSQL prepared (`EXECUTE name(values)`), on a
 * real connection: the same rows as inline, prepared once per connection, and inline wherever a
 * prepared form could answer differently or PostgreSQL refuses it, without disturbing the
 * caller's transaction.
 */
describe('Prepared statements', () => {
  const platform = new PostgreSqlPlatform();
  const inline = (statement: Sql) => platform.formatQuery(statement.text, [...statement.values]);
  let client: Client;
  let sent: string[];
  const send = async (text: string) => {
    sent.push(text);
    return (await client.query(text)) as unknown as PgResult | PgResult[];
  };
  const rowsOf = (result: PgResult | PgResult[]) =>
    Array.isArray(result) ? result[result.length - 1].rows : result.rows;
  let prepared: PreparedStatements;

  beforeEach(async () => {
    client = new Client({ connectionString: process.env.DATABASE_URL });
    await client.connect();
    await client.query('drop table if exists prepared_probe');
    await client.query(
      'create table prepared_probe (id int primary key, name text not null, at timestamptz)',
    );
    prepared = new PreparedStatements((value) => platform.quoteValue(value));
    sent = [];
  });
  afterEach(async () => {
    await client.query('drop table if exists prepared_probe');
    await client.end();
  });

  const preparedHere = async () =>
    (await client.query<{ name: string }>('select name from pg_prepared_statements order by name')).rows.map(
      (row) => row.name,
    );

  it('runs a statement prepared once per connection, with the rows it answers inline', async () => {
    const insert = (id: number, name: string) =>
      sql`insert into prepared_probe (id, name, at) values (${id}, ${name}, ${new Date('2026-01-02T03:04:05Z')})
          returning id, name, at`;
    const first = await prepared.render(client, send, insert(1, "O'Brien"), false);
    expect(first).toMatch(/^execute pfs_[0-9a-f]{24}\(1, 'O''Brien', '2026-01-02/);
    expect(rowsOf(await send(first))).toEqual([
      { id: 1, name: "O'Brien", at: new Date('2026-01-02T03:04:05Z') },
    ]);
    const second = await prepared.render(client, send, insert(2, 'Ada'), false);
    expect(rowsOf(await send(second))).toEqual([
      { id: 2, name: 'Ada', at: new Date('2026-01-02T03:04:05Z') },
    ]);
    // One PREPARE for both, then only EXECUTEs.
    expect(sent.filter((text) => text.includes('prepare '))).toHaveLength(1);
    expect(await preparedHere()).toEqual([first.slice('execute '.length, first.indexOf('('))]);
    expect((await client.query('select count(*)::int as n from prepared_probe')).rows[0].n).toBe(2);

    // Another connection prepares it for itself.
    const other = new PreparedStatements((value) => platform.quoteValue(value));
    const otherClient = new Client({ connectionString: process.env.DATABASE_URL });
    await otherClient.connect();
    try {
      const text = await other.render(
        otherClient,
        async (query) => await otherClient.query(query),
        sql`select name from prepared_probe where id = ${2}`,
        false,
      );
      expect(rowsOf((await otherClient.query(text)) as unknown as PgResult)).toEqual([{ name: 'Ada' }]);
    } finally {
      await otherClient.end();
    }
  });

  it('quotes strings as the platform does, and they reach PostgreSQL exactly as they were', async () => {
    // The registry of the platform (its strings quoted without the platform's per-character loop).
    const registry = PreparedStatements.of(platform);
    const names = ["O'Brien", 'C:\\path\\to', "\\'\\''", 'é ✓ \u{1F600}', '', "E'x'"];
    for (const [index, name] of names.entries()) {
      const statement = sql`insert into prepared_probe (id, name) values (${index}, ${name}) returning name`;
      const text = await registry.render(client, send, statement, false);
      expect(text).toContain(platform.quoteValue(name));
      expect(rowsOf(await send(text))).toEqual([{ name }]);
    }
    const stored = await client.query<{ name: string }>('select name from prepared_probe order by id');
    expect(stored.rows.map((row) => row.name)).toEqual(names);
  });

  it('sends inline a number that a parameter would turn into text, and lists of values', async () => {
    const numberInSelectList = sql`select ${5} as n, ${true} as yes`;
    const text = await prepared.render(client, send, numberInSelectList, false);
    expect(text).toBe('select 5 as n, true as yes');
    expect(rowsOf(await send(text))).toEqual([{ n: 5, yes: true }]);

    const list = sql`select count(*)::int as n from prepared_probe where id in (${[1, 2, 3]})`;
    expect(await prepared.render(client, send, list, false)).toBe(
      'select count(*)::int as n from prepared_probe where id in (1, 2, 3)',
    );
  });

  it('sends inline a statement PostgreSQL will not prepare, without aborting the open transaction', async () => {
    await client.query('begin');
    await client.query(`insert into prepared_probe (id, name) values (1, 'kept')`);
    // Inline, `'x' is null` is a text literal; as `$1 is null` its type cannot be determined.
    const refused = sql`select ${'x'} is null as missing`;
    const text = await prepared.render(client, send, refused, true);
    expect(text).toBe(`select 'x' is null as missing`);
    expect(rowsOf(await send(text))).toEqual([{ missing: false }]);
    await client.query('commit');
    // The transaction's earlier write survived the refused PREPARE.
    expect((await client.query('select name from prepared_probe')).rows).toEqual([{ name: 'kept' }]);
    // Known now: not tried again.
    sent = [];
    expect(await prepared.render(client, send, refused, false)).toBe(text);
    expect(sent).toEqual([]);
  });

  it('sends inline a statement whose result is `*`, which a migration adding a column would change', async () => {
    await client.query(`insert into prepared_probe (id, name) values (1, 'before')`);
    for (const star of [
      sql`select * from prepared_probe where id = ${1}`,
      sql`select p.*, ${'x'}::text as extra from prepared_probe p where id = ${1}`,
      sql`update prepared_probe set name = ${'after'} where id = ${1} returning *`,
    ]) {
      expect(await prepared.render(client, send, star, false)).toBe(inline(star));
    }
    // `*` inside a `with` entry the statement turns into JSON keeps its result type: prepared.
    const json = sql`with found as (select * from prepared_probe where id = ${1}) select row_to_json(found) as row from found`;
    expect(await prepared.render(client, send, json, false)).toMatch(/^execute pfs_/);
  });

  it('prepares a statement anew on a connection where a migration changed what it returns', async () => {
    const read = sql`select name from prepared_probe where id = ${1}`;
    await client.query(`insert into prepared_probe (id, name) values (1, 'before')`);
    const text = await prepared.render(client, send, read, false);
    expect(rowsOf(await send(text))).toEqual([{ name: 'before' }]);

    await client.query('alter table prepared_probe alter column name type varchar(100)');
    const error = await client.query(text).then(
      () => null,
      (failure: unknown) => failure,
    );
    expect(PreparedStatements.isResultTypeChange(error)).toBe(true);
    prepared.failed(client, text, error);

    const again = await prepared.render(client, send, read, false);
    expect(again).toBe(text);
    expect(rowsOf(await send(again))).toEqual([{ name: 'before' }]);
  });
});

/** The service's two ways of sending explicit statements, after a migration changed a prepared one's result. */
describe('Prepared statements in the service', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(async () => {
    await t.em().getConnection().execute('drop table if exists prepared_probe');
    await t.close();
  });
  beforeEach(async () => {
    const connection = t.em().getConnection();
    await connection.execute('drop table if exists prepared_probe');
    await connection.execute('create table prepared_probe (id int primary key, name text not null)');
    await connection.execute(`insert into prepared_probe (id, name) values (1, 'kept')`);
  });

  /** Every connection of the pool has the statement prepared, then the column's type changes. */
  async function preparedEverywhereThenMigrated(run: () => Promise<unknown>): Promise<void> {
    await Promise.all(Array.from({ length: 30 }, run));
    await t.em().getConnection().execute('alter table prepared_probe alter column name type varchar(100)');
  }

  it('a transaction of explicit statements runs again, once, and succeeds', async () => {
    const transactions = t.app.get(SqlTransactions);
    const read = () =>
      transactions.run(async (tx) => {
        const rows = await tx.query<{ name: string }>(sql`select name from prepared_probe where id = ${1}`);
        await tx.commit();
        return rows;
      });
    await preparedEverywhereThenMigrated(read);
    const answers = await Promise.all(Array.from({ length: 30 }, read));
    expect(answers.every((rows) => rows[0]?.name === 'kept')).toBe(true);
  });

  it('a statement outside a transaction is prepared anew and sent again', async () => {
    const read = () =>
      execute<{ name: string }>(t.em(), sql`select name from prepared_probe where id = ${1}`);
    await preparedEverywhereThenMigrated(read);
    const answers = await Promise.all(Array.from({ length: 30 }, read));
    expect(answers.every((rows) => rows[0]?.name === 'kept')).toBe(true);
  });
});

describe('Prepared statements turned off (DATABASE_PREPARED_STATEMENTS=false)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ env: { DATABASE_PREPARED_STATEMENTS: 'false' } });
  });
  afterAll(() => t.close());

  it('sends every statement inline, and the explicit paths still work', async () => {
    const platform = t.orm.em.getPlatform();
    const prepared = PreparedStatements.of(platform);
    const statement = sql`select ${'a'}::text as value`;
    const sent: string[] = [];
    const text = await prepared.render(
      {},
      (query) => {
        sent.push(query);
        return Promise.resolve({ rows: [] });
      },
      statement,
      false,
    );
    expect(text).toBe(`select 'a'::text as value`);
    expect(sent).toEqual([]);
    const rows = await t.app.get(SqlTransactions).run((tx) => tx.commit<{ value: string }>(statement));
    expect(rows).toEqual([{ value: 'a' }]);
    expect(await execute<{ value: string }>(t.em(), statement)).toEqual([{ value: 'a' }]);
  });
});
