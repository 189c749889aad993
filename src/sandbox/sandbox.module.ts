import { Module, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { LazyModuleLoader } from '@nestjs/core';
import { AppConfig } from '../config';
import type { SandboxServer } from './sandbox.server';

/**
 * The offline Stripe: started with the service when no STRIPE_SECRET_KEY is configured, on its own
 * port (SANDBOX_PORT), during module initialization, so it answers before the service serves.
 * It is "Stripe": the service reaches it only over HTTP, through its real Stripe adapter.
 * Inside the service it keeps its state in the service's database (schema `sandbox`).
 *
 * Its code (`SandboxServerModule`) is loaded only then, lazily: a service on a real or a separate
 * Stripe never loads the sandbox, nor what it alone needs (PGlite, the migrator's classes).
 */
@Module({})
export class SandboxModule implements OnModuleInit, OnApplicationShutdown {
  private server?: SandboxServer;

  constructor(
    private readonly config: AppConfig,
    private readonly lazyModules: LazyModuleLoader,
  ) {}

  async onModuleInit(): Promise<void> {
    if (!this.config.sandbox.enabled) return;
    const [{ SandboxServerModule }, { SandboxServer }] = await Promise.all([
      import('./sandbox-server.module'),
      import('./sandbox.server'),
    ]);
    const moduleRef = await this.lazyModules.load(() => SandboxServerModule);
    this.server = moduleRef.get(SandboxServer);
    await this.server.start();
  }

  async onApplicationShutdown(): Promise<void> {
    await this.server?.stop();
  }
}
