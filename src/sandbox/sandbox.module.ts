import { Module, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { AppConfig } from '../config';
import { SandboxServer } from './sandbox.server';

/**
 * The offline Stripe: started with the service when no STRIPE_SECRET_KEY is configured, on its own
 * port (SANDBOX_PORT), during module initialization, so it answers before the service serves.
 * It is "Stripe": the service reaches it only over HTTP, through its real Stripe adapter.
 */
@Module({ providers: [SandboxServer] })
export class SandboxModule implements OnModuleInit, OnApplicationShutdown {
  constructor(
    private readonly config: AppConfig,
    private readonly server: SandboxServer,
  ) {}

  async onModuleInit(): Promise<void> {
    if (this.config.sandbox.enabled) await this.server.start();
  }

  async onApplicationShutdown(): Promise<void> {
    await this.server.stop();
  }
}
