import { mkdirSync } from 'node:fs';
import type { PGlite } from '@electric-sql/pglite';

/**
 * The embedded database: PGlite (PostgreSQL compiled to WebAssembly) keeping its files in `dataDir`.
 * Opened on first use; closed by its owner once the ORM has let go of it.
 */
export class EmbeddedPostgres {
  private instance?: PGlite;

  constructor(readonly dataDir: string) {}

  readonly open = (): PGlite => {
    if (!this.instance) {
      mkdirSync(this.dataDir, { recursive: true });
      // Loaded only when used: a service on PostgreSQL starts without compiling PGlite's module.
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const { PGlite: Embedded } = require('@electric-sql/pglite') as typeof import('@electric-sql/pglite');
      this.instance = new Embedded(this.dataDir);
    }
    return this.instance;
  };

  async close(): Promise<void> {
    const instance = this.instance;
    this.instance = undefined;
    if (instance && !instance.closed) await instance.close();
  }
}
