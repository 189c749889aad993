import { PostgreSqlPlatform } from '@mikro-orm/postgresql';
import { escapeLiteral } from 'pg';
import { quotePostgresString, withFastStrings } from './prepared-statements';

describe('quotePostgresString', () => {
  it("writes what pg's escapeLiteral writes, on strings made of what quoting cares about", () => {
    const alphabet = ["'", '\\', 'a', ' ', 'é', '\n', '\u0000', '\u{1F600}', '\ud800', '"', 'E'];
    let seed = 7;
    const next = () => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31);
    for (let i = 0; i < 2000; i++) {
      const length = next() % 12;
      const value = Array.from({ length }, () => alphabet[next() % alphabet.length]).join('');
      expect(quotePostgresString(value)).toBe(escapeLiteral(value));
    }
  });
});

describe('withFastStrings', () => {
  it("takes strings off MikroORM's PostgreSQL quoting, which writes them the same, and nothing else", () => {
    const platform = new PostgreSqlPlatform();
    const asked: unknown[] = [];
    const quote = withFastStrings((value) => {
      asked.push(value);
      return platform.quoteValue(value);
    });
    asked.length = 0;
    expect(quote("it's a \\ test")).toBe(platform.quoteValue("it's a \\ test"));
    expect(asked).toEqual([]);
    const when = new Date('2026-11-29T12:00:00Z');
    expect([quote(42), quote(true), quote(null), quote(when)]).toEqual(
      [42, true, null, when].map((value) => platform.quoteValue(value)),
    );
    expect(asked).toEqual([42, true, null, when]);
  });

  it('keeps a quoting that writes strings otherwise (backslash escapes, as MySQL does)', () => {
    const mysqlish = (value: unknown) =>
      typeof value === 'string' ? `'${value.replace(/[\\']/g, (c) => `\\${c}`)}'` : String(value);
    const quote = withFastStrings(mysqlish);
    expect(quote("it's")).toBe("'it\\'s'");
    expect(quote).toBe(mysqlish);
  });
});
