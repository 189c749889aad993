import { type DynamicModule, Module } from '@nestjs/common';
import { AppConfig } from '../config';
import { SandboxServer } from './sandbox.server';
import { SandboxStorageFactory, StandaloneStorageFactory } from './storage/storage.factory';

/**
 * The sandbox's server and everything it runs (API, checkout pages, dashboard, storage). Loaded
 * only where a sandbox runs: by `SandboxModule` inside the service when the sandbox is enabled, and
 * by the standalone sandbox.
 */
@Module({ providers: [SandboxServer], exports: [SandboxServer] })
export class SandboxServerModule {
  /**
   * The sandbox on its own (`npm run sandbox`): its state in PostgreSQL at DATABASE_URL when set
   * (schema `sandbox`), else in its own PGlite under DATA_DIR (`<DATA_DIR>/sandbox`).
   */
  static standalone(): DynamicModule {
    return {
      module: SandboxServerModule,
      providers: [
        {
          provide: SandboxStorageFactory,
          inject: [AppConfig],
          useFactory: ({ database, sandbox }: AppConfig) =>
            new StandaloneStorageFactory(
              database.kind === 'postgresql' ? database : { kind: 'pglite', dataDir: sandbox.dataDir },
            ),
        },
      ],
    };
  }
}
