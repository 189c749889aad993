/**
 * A piece of SQL and its values: `?` placeholders in `text`, one per value, in order (MikroORM's
 * convention; its platform quotes the values when the statement is sent). Built with the `sql`
 * tag, so that a value can never become SQL text: only another `Sql` is spliced in as text.
 */
export class Sql {
  private constructor(
    readonly text: string,
    readonly values: readonly unknown[],
  ) {}

  /** Trusted SQL text without values (an identifier list, a keyword), written in the code. */
  static raw(text: string): Sql {
    if (text.includes('?')) throw new Error('Sql.raw takes no placeholders');
    return new Sql(text, []);
  }

  /**
   * SQL text written in the code with its own `?` placeholders, one per value (another module's
   * statement built that way): the count is checked.
   */
  static withValues(text: string, values: readonly unknown[]): Sql {
    const placeholders = text.split('?').length - 1;
    if (placeholders !== values.length) {
      throw new Error(`${placeholders} placeholders for ${values.length} values`);
    }
    return new Sql(text, [...values]);
  }

  /** `parts` one after the other, `separator` (trusted text) between them. */
  static join(parts: readonly Sql[], separator: string): Sql {
    return new Sql(
      parts.map((part) => part.text).join(separator),
      parts.flatMap((part) => part.values),
    );
  }

  /** @internal for `sql` */
  static of(text: string, values: unknown[]): Sql {
    return new Sql(text, values);
  }
}

/**
 * `sql\`update orders set status = ${status} where id = ${id}\``: each interpolated value becomes a
 * placeholder, each interpolated `Sql` is spliced in with its own values. `undefined` is refused
 * (a forgotten field), `null` is SQL null.
 */
export function sql(strings: TemplateStringsArray, ...values: unknown[]): Sql {
  // A literal `?` would shift every value after it.
  if (strings.some((part) => part.includes('?'))) throw new Error('No literal "?" in SQL text');
  let text = strings[0];
  const params: unknown[] = [];
  values.forEach((value, index) => {
    if (value instanceof Sql) {
      text += value.text;
      params.push(...value.values);
    } else {
      if (value === undefined) throw new Error(`Undefined value in SQL after: ${strings[index].slice(-40)}`);
      text += '?';
      params.push(value);
    }
    text += strings[index + 1];
  });
  return Sql.of(text, params);
}

/**
 * One statement made of several writes: a `with` list of data-modifying statements, each added by
 * the module that owns its table, which apply only when the `gate` select (one row, a boolean `ok`)
 * holds: every write carries `when`. PostgreSQL runs them all on one snapshot, all or nothing.
 */
export class WriteStatement {
  /** The condition each write must carry: it holds when the gate does. */
  readonly when = Sql.raw('(select ok from gate)');
  private readonly writes: Sql[] = [];

  constructor(private readonly gate: Sql) {}

  /** Adds a data-modifying statement; returns its name in the `with` list (to read its `returning`). */
  add(statement: Sql): string {
    const name = `write_${this.writes.length}`;
    this.writes.push(sql`${Sql.raw(name)} as (${statement})`);
    return name;
  }

  /** The statement: its one row has `ok`, and one column per entry of `results` (trusted names). */
  build(results: Record<string, Sql> = {}): Sql {
    const columns = Object.entries(results).map(([name, value]) => sql`, ${value} as ${Sql.raw(name)}`);
    // Nothing to write: the gate alone (what it says still matters to the caller).
    const writes = this.writes.map(
      (write) => sql`,
      ${write}`,
    );
    return sql`with gate as (${this.gate})${Sql.join(writes, '')}
      select ok${Sql.join(columns, '')} from gate`;
  }
}
