import 'reflect-metadata';
import { existsSync } from 'node:fs';
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Logger, LoggerModule } from 'nestjs-pino';
import { AppConfig, ConfigError, ConfigModule, parseEnv } from '../config';
import { loggerParams } from '../shared/logging';
import { startFailure } from '../shared/start-up';
import { SandboxServerModule } from './sandbox-server.module';
import { SandboxServer } from './sandbox.server';

@Module({
  imports: [
    ConfigModule,
    LoggerModule.forRootAsync({ inject: [AppConfig], useFactory: loggerParams }),
    SandboxServerModule.standalone(),
  ],
})
class StandaloneSandboxModule {}

/**
 * `npm run sandbox`: the Stripe sandbox on its own (SANDBOX_PORT), whatever STRIPE_SECRET_KEY says.
 * Point a service at it with STRIPE_SECRET_KEY=sk_test_sandbox_51OfflineOrderFlow,
 * STRIPE_API_HOST=127.0.0.1, STRIPE_API_PORT, STRIPE_API_PROTOCOL=http. Its state survives a
 * restart: in PostgreSQL at DATABASE_URL when set, else in PGlite under DATA_DIR/sandbox.
 */
async function bootstrap(): Promise<void> {
  if (existsSync('.env')) process.loadEnvFile('.env');
  parseEnv(process.env);
  const app = await NestFactory.createApplicationContext(StandaloneSandboxModule, { bufferLogs: true });
  app.useLogger(app.get(Logger));
  app.enableShutdownHooks();
  try {
    await app.get(SandboxServer).start();
  } catch (error) {
    app.flushLogs();
    await app.close().catch(() => undefined);
    throw error;
  }
}

bootstrap().catch((error: unknown) => {
  console.error(error instanceof ConfigError ? error.message : startFailure(error));
  process.exitCode = 1;
  setTimeout(() => process.exit(1), 2000).unref();
});
