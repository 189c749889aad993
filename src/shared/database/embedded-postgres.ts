import { mkdirSync } from 'node:fs';
import { PGlite } from '@electric-sql/pglite';

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
      this.instance = new PGlite(this.dataDir);
    }
    return this.instance;
  };

  async close(): Promise<void> {
    const instance = this.instance;
    this.instance = undefined;
    if (instance && !instance.closed) await instance.close();
  }
}
