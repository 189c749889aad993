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

describe('composed texts', () => {
  const update = (status: string, id: string, extra: Sql) =>
    sql`update orders set status = ${status} where id = ${id}${extra}`;

  it('are composed once: the same fragments give the same string, whatever the values', () => {
    const first = update('paid', 'o-1', sql` and amount = ${100}`);
    const second = update('failed', 'o-2', sql` and amount = ${250}`);
    expect(first.text).toBe('update orders set status = ? where id = ? and amount = ?');
    expect(Object.is(first.text, second.text)).toBe(true);
    expect(first.values).toEqual(['paid', 'o-1', 100]);
    expect(second.values).toEqual(['failed', 'o-2', 250]);
  });

  it('follow the fragments: another fragment in the same place gives its own text', () => {
    const byAmount = update('paid', 'o-1', sql` and amount = ${100}`);
    const byCurrency = update('paid', 'o-1', sql` and currency = ${'eur'}`);
    const withNothing = update('paid', 'o-1', Sql.raw(''));
    expect(byCurrency.text).toBe('update orders set status = ? where id = ? and currency = ?');
    expect(withNothing.text).toBe('update orders set status = ? where id = ?');
    expect(byAmount.text).not.toBe(byCurrency.text);
    // A value where a fragment was (and the reverse) is told apart by the placeholder.
    expect(sql`select ${1}`.text).toBe('select ?');
    expect(sql`select ${Sql.raw('now()')}`.text).toBe('select now()');
    expect(sql`select ${1}`.values).toEqual([1]);
  });

  it('join the same way: by separator and parts, in order', () => {
    const parts = [Sql.raw('a'), sql`b = ${1}`, Sql.raw('c')];
    expect(Sql.join(parts, ', ').text).toBe('a, b = ?, c');
    expect(Sql.join(parts, ' and ').text).toBe('a and b = ? and c');
    expect(Sql.join([...parts].reverse(), ', ').text).toBe('c, b = ?, a');
    expect(Sql.join(parts.slice(0, 2), ', ').text).toBe('a, b = ?');
    expect(Sql.join([], ', ').text).toBe('');
    expect(Object.is(Sql.join(parts, ', ').text, Sql.join(parts, ', ').text)).toBe(true);
  });

  it('stay right past the bound on what is kept (texts are then composed anew)', () => {
    for (let n = 0; n < 6000; n++) {
      const statement = sql`select ${Sql.raw(`column_${n}`)} from t where id = ${n}`;
      expect(statement.text).toBe(`select column_${n} from t where id = ?`);
      expect(statement.values).toEqual([n]);
    }
    const joined = Sql.join([Sql.raw('x_6001'), sql`y = ${2}`], ' | ');
    expect(joined.text).toBe('x_6001 | y = ?');
    expect(joined.values).toEqual([2]);
  });
});
