/**
 * Where the sandbox keeps its state across restarts: generic JSON rows `(kind, id) → data` of one
 * sandbox "account", in the PostgreSQL schema `sandbox` (table `sandbox.objects`).
 *
 * The sandbox works on its in-memory maps (`SandboxStore`); they are loaded from here at start and
 * written through (awaited) before an answer leaves or an event is sent. Nothing here knows about
 * sessions or events: a new kind of object is durable by being a collection of the store.
 */
export interface StoredRow {
  kind: string;
  id: string;
  data: unknown;
  /** `data` as JSON, when the caller has it already (the store compares it with what it wrote). */
  json?: string;
}

export abstract class SandboxStorage {
  /** Every row of the account, in the order they were first written. */
  abstract load(): Promise<StoredRow[]>;
  /** Upserts `rows` and deletes `deleted`, all or nothing. */
  abstract write(rows: StoredRow[], deleted: { kind: string; id: string }[]): Promise<void>;
  /** Deletes every row of the account (`POST /_sandbox/reset`). */
  abstract clear(): Promise<void>;
  /** Where the state is kept, for the start-up log line (never a password). */
  abstract describe(): string;
  async close(): Promise<void> {}
}

/** Keeps nothing: the state is gone when the process stops (tests that need no restart). */
export class MemoryStorage extends SandboxStorage {
  load(): Promise<StoredRow[]> {
    return Promise.resolve([]);
  }
  write(): Promise<void> {
    return Promise.resolve();
  }
  clear(): Promise<void> {
    return Promise.resolve();
  }
  describe(): string {
    return 'memory only (gone at exit)';
  }
}

/** Runs one SQL statement with `?` placeholders and answers its rows. */
export type SqlExecutor = (sql: string, params: unknown[]) => Promise<Record<string, unknown>[]>;

/** `?` → `$1`, `$2`, … for drivers that number their placeholders (pg, PGlite). */
export function numberedPlaceholders(sql: string): string {
  let n = 0;
  return sql.replace(/\?/g, () => `$${++n}`);
}

/**
 * `sandbox.objects` through any SQL connection: the service's own (MikroORM, PostgreSQL or PGlite),
 * or the standalone sandbox's. Each write is one statement, so it applies whole or not at all.
 */
export class SqlStorage extends SandboxStorage {
  constructor(
    private readonly execute: SqlExecutor,
    /** Whose rows: each sandbox (one per listen address) is its own account in a shared database. */
    private readonly account: string,
    private readonly where: string,
    private readonly onClose: () => Promise<void> = async () => {},
  ) {
    super();
  }

  async load(): Promise<StoredRow[]> {
    const rows = await this.execute(
      'select kind, id, data from sandbox.objects where account = ? order by seq',
      [this.account],
    );
    return rows.map((row) => ({
      kind: String(row.kind),
      id: String(row.id),
      // pg parses jsonb; a driver that answers text is parsed here.
      data: typeof row.data === 'string' ? (JSON.parse(row.data) as unknown) : row.data,
    }));
  }

  async write(rows: StoredRow[], deleted: { kind: string; id: string }[]): Promise<void> {
    if (!rows.length && !deleted.length) return;
    await this.execute(
      `with removed as (
         delete from sandbox.objects o
         using jsonb_to_recordset(?::jsonb) as d(kind text, id text)
         where o.account = ? and o.kind = d.kind and o.id = d.id
       )
       insert into sandbox.objects (account, kind, id, data, updated_at)
       select ?, r.kind, r.id, r.data, now()
       from jsonb_to_recordset(?::jsonb) as r(kind text, id text, data jsonb)
       on conflict (account, kind, id) do update set data = excluded.data, updated_at = excluded.updated_at`,
      [JSON.stringify(deleted), this.account, this.account, rowsJson(rows)],
    );
  }

  async clear(): Promise<void> {
    await this.execute('delete from sandbox.objects where account = ?', [this.account]);
  }

  describe(): string {
    return `${this.where}, schema "sandbox", account ${this.account}`;
  }

  override close(): Promise<void> {
    return this.onClose();
  }
}

/** `JSON.stringify(rows)` (without `json`), reusing each row's JSON where it is given. */
function rowsJson(rows: readonly StoredRow[]): string {
  const items = rows.map(
    (row) =>
      `{"kind":${JSON.stringify(row.kind)},"id":${JSON.stringify(row.id)},"data":${row.json ?? JSON.stringify(row.data)}}`,
  );
  return `[${items.join(',')}]`;
}
