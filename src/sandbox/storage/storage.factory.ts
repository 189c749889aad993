import { mkdirSync } from 'node:fs';
import type { MikroORM } from '@mikro-orm/core';
import type { EntityManager } from '@mikro-orm/postgresql';
import { Pool } from 'pg';
import { SANDBOX_SCHEMA_SQL } from '../../shared/database/migrations/sandbox-schema';
import { redactUrl } from '../../shared/redact-url';
import { MemoryStorage, numberedPlaceholders, type SandboxStorage, SqlStorage } from './sandbox-storage';

/**
 * Opens the sandbox's storage for an account (the sandbox's base URL). The DI token: the standalone
 * sandbox provides one (see `SandboxModule.standalone`); without it, the sandbox inside the service
 * uses the service's database, and one with no database at all keeps nothing.
 */
export abstract class SandboxStorageFactory {
  abstract open(account: string): Promise<SandboxStorage>;
}

/** The service's own database (PostgreSQL or PGlite), through MikroORM; the migration made the schema. */
export class ServiceDatabaseStorageFactory extends SandboxStorageFactory {
  constructor(private readonly orm: MikroORM) {
    super();
  }

  open(account: string): Promise<SandboxStorage> {
    const connection = (this.orm.em as EntityManager).getConnection();
    return Promise.resolve(
      new SqlStorage(
        (sql, params) => connection.execute<Record<string, unknown>[]>(sql, params, 'all'),
        account,
        "the service's database",
      ),
    );
  }
}

export class MemoryStorageFactory extends SandboxStorageFactory {
  open(): Promise<SandboxStorage> {
    return Promise.resolve(new MemoryStorage());
  }
}

/** The standalone sandbox: PostgreSQL at `DATABASE_URL` when set, else its own PGlite under DATA_DIR. */
export class StandaloneStorageFactory extends SandboxStorageFactory {
  constructor(
    private readonly target: { kind: 'postgresql'; url: string } | { kind: 'pglite'; dataDir: string },
  ) {
    super();
  }

  async open(account: string): Promise<SandboxStorage> {
    if (this.target.kind === 'pglite') {
      mkdirSync(this.target.dataDir, { recursive: true });
      // Loaded only here: a sandbox on PostgreSQL never needs it.
      const { PGlite } = await import('@electric-sql/pglite');
      const db = new PGlite(this.target.dataDir);
      for (const sql of SANDBOX_SCHEMA_SQL) await db.exec(sql);
      return new SqlStorage(
        async (sql, params) =>
          (await db.query<Record<string, unknown>>(numberedPlaceholders(sql), params)).rows,
        account,
        `PGlite in ${this.target.dataDir}`,
        () => db.close(),
      );
    }
    const pool = new Pool({ connectionString: this.target.url, max: 2 });
    const client = await pool.connect();
    try {
      // Standalone sandboxes starting together on one database take turns creating the schema.
      await client.query('begin');
      await client.query('select pg_advisory_xact_lock(7203114002)');
      for (const sql of SANDBOX_SCHEMA_SQL) await client.query(sql);
      await client.query('commit');
    } catch (error) {
      await client.query('rollback');
      throw error;
    } finally {
      client.release();
    }
    return new SqlStorage(
      async (sql, params) =>
        (await pool.query<Record<string, unknown>>(numberedPlaceholders(sql), params)).rows,
      account,
      `PostgreSQL at ${redactUrl(this.target.url)}`,
      () => pool.end(),
    );
  }
}
