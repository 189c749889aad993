import { type DynamicModule, Module, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { AppConfig } from '../config';
import { SandboxServer } from './sandbox.server';
import { SandboxStorageFactory, StandaloneStorageFactory } from './storage/storage.factory';

/**
 * The offline Stripe: started with the service when no STRIPE_SECRET_KEY is configured, on its own
 * port (SANDBOX_PORT), during module initialization, so it answers before the service serves.
 * It is "Stripe": the service reaches it only over HTTP, through its real Stripe adapter.
 * Inside the service it keeps its state in the service's database (schema `sandbox`).
 */
@Module({ providers: [SandboxServer] })
export class SandboxModule implements OnModuleInit, OnApplicationShutdown {
  constructor(
    private readonly config: AppConfig,
    private readonly server: SandboxServer,
  ) {}

  /**
   * The sandbox on its own (`npm run sandbox`): its state in PostgreSQL at DATABASE_URL when set
   * (schema `sandbox`), else in its own PGlite under DATA_DIR (`<DATA_DIR>/sandbox`).
   */
  static standalone(): DynamicModule {
    return {
      module: SandboxModule,
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

  async onModuleInit(): Promise<void> {
    if (this.config.sandbox.enabled) await this.server.start();
  }

  async onApplicationShutdown(): Promise<void> {
    await this.server.stop();
  }
}
