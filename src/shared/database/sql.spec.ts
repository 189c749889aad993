import { Sql, sql, WriteStatement } from './sql';

describe('sql', () => {
  it('turns values into placeholders, in order, and splices nested SQL with its own values', () => {
    const inner = sql`select id from orders where id = ${'o-1'}`;
    const statement = sql`update payments set status = ${'succeeded'} where order_id = (${inner}) and amount = ${0}`;
    expect(statement.text).toBe(
      'update payments set status = ? where order_id = (select id from orders where id = ?) and amount = ?',
    );
    expect(statement.values).toEqual(['succeeded', 'o-1', 0]);
  });

  it('keeps a value that looks like SQL a value', () => {
    const statement = sql`select 1 where name = ${"x'; drop table orders; --"}`;
    expect(statement.text).toBe('select 1 where name = ?');
    expect(statement.values).toEqual(["x'; drop table orders; --"]);
  });

  it('refuses undefined (a forgotten field) and a literal placeholder in the text', () => {
    expect(() => sql`select ${undefined}`).toThrow(/Undefined value/);
    expect(() => sql`select '?' where a = ${1}`).toThrow(/No literal "\?"/);
    expect(() => Sql.raw('select ?')).toThrow(/no placeholders/);
  });

  it('takes text with its own placeholders only with as many values', () => {
    expect(Sql.withValues('insert into t (a, b) values (?, ?)', [1, 2]).values).toEqual([1, 2]);
    expect(() => Sql.withValues('insert into t (a, b) values (?, ?)', [1])).toThrow(
      /2 placeholders for 1 values/,
    );
  });
});

describe('WriteStatement', () => {
  it('names each write, gates it, and selects ok with the results asked for', () => {
    const statement = new WriteStatement(sql`select count(*) = ${1} as ok from payments`);
    const first = statement.add(sql`update orders set status = ${'paid'} where ${statement.when}`);
    const second = statement.add(sql`delete from t where not ${statement.when}`);
    const built = statement.build({ notified: Sql.raw('0') });
    expect([first, second]).toEqual(['write_0', 'write_1']);
    expect(built.text.replace(/\s+/g, ' ')).toBe(
      'with gate as (select count(*) = ? as ok from payments), ' +
        'write_0 as (update orders set status = ? where (select ok from gate)), ' +
        'write_1 as (delete from t where not (select ok from gate)) select ok, 0 as notified from gate',
    );
    expect(built.values).toEqual([1, 'paid']);
  });
});
