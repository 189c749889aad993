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
    let node = texts.after(JOINS, separator);
    for (const part of parts) node = node && texts.after(node, part.text);
    const text = node?.text ?? texts.keep(node, parts.map((part) => part.text).join(separator));
    return new Sql(
      text,
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
  let node = texts.templates.get(strings);
  if (!node) {
    // A literal `?` would shift every value after it.
    if (strings.some((part) => part.includes('?'))) throw new Error('No literal "?" in SQL text');
    texts.templates.set(strings, (node = {}));
  }
  let next: TextNode | undefined = node;
  const params: unknown[] = [];
  for (let index = 0; index < values.length; index++) {
    const value = values[index];
    if (value instanceof Sql) {
      params.push(...value.values);
      next = next && texts.after(next, value.text);
    } else {
      if (value === undefined) throw new Error(`Undefined value in SQL after: ${strings[index].slice(-40)}`);
      params.push(value);
      next = next && texts.after(next, PLACEHOLDER);
    }
  }
  const text = next?.text ?? texts.keep(next, composed(strings, values));
  return Sql.of(text, params);
}

const PLACEHOLDER = '?';

/** A template's text with each value a placeholder and each `Sql` spliced in. */
function composed(strings: TemplateStringsArray, values: readonly unknown[]): string {
  let text = strings[0];
  for (let index = 0; index < values.length; index++) {
    const value = values[index];
    text += (value instanceof Sql ? value.text : PLACEHOLDER) + strings[index + 1];
  }
  return text;
}

/** A step in composing a text: the text so far, once composed, and the steps that follow it. */
interface TextNode {
  text?: string;
  next?: Map<string, TextNode>;
}

/**
 * The texts composed so far, by what they were composed of: a template (or a separator) and the
 * texts put in it, in order. The hot paths compose the same statements on every request, a dozen
 * fragments deep: each is concatenated once and then found, the same string each time (so the
 * prepared statements' lookup by text hashes it once, not on every request). The fragments a text
 * is made of decide it; values never do. Bounded: past `MAX` steps, texts are concatenated anew.
 */
const texts = {
  MAX: 5000,
  steps: 0,
  /** By tagged template (one per place in the code). */
  templates: new WeakMap<TemplateStringsArray, TextNode>(),
  /** The step after `node` for the next fragment `text`; undefined once the cache is full. */
  after(node: TextNode, text: string): TextNode | undefined {
    let next = node.next?.get(text);
    if (next) return next;
    if (this.steps >= this.MAX) return undefined;
    this.steps++;
    (node.next ??= new Map()).set(text, (next = {}));
    return next;
  },
  /** `text`, newly composed, kept at `node` (none past the bound: composed anew each time). */
  keep(node: TextNode | undefined, text: string): string {
    if (node) node.text = text;
    return text;
  },
};

/** Where `Sql.join`'s steps start (by separator, then each part's text). */
const JOINS: TextNode = {};

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
