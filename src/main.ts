// First: it tunes the heap before the modules load.
import './shared/heap-growth';
import 'reflect-metadata';
import { existsSync } from 'node:fs';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { Logger } from 'nestjs-pino';
import { AppModule } from './app.module';
import { configureApp } from './app.setup';
import { AppConfig, ConfigError, parseEnv } from './config';
import { startBanner, startFailure } from './shared/start-up';

async function bootstrap(): Promise<void> {
  if (existsSync('.env')) process.loadEnvFile('.env');
  // Checked before the framework starts, so that a refusal is one line, not a stack trace.
  parseEnv(process.env);
  const app = await NestFactory.create<NestExpressApplication>(AppModule, {
    rawBody: true,
    bufferLogs: true,
  });
  configureApp(app);
  const config = app.get(AppConfig);
  try {
    await app.listen(config.port);
  } catch (error) {
    app.flushLogs(); // what happened before, kept in the start-up buffer, gets out
    await app.close().catch(() => undefined); // its database pool and sandbox
    throw error;
  }
  app.get(Logger).log(startBanner(config));
}

bootstrap().catch((error: unknown) => {
  // A configuration error names the variables at fault and never their values: one line, no stack.
  // A port in use is one line naming PORT or SANDBOX_PORT.
  console.error(error instanceof ConfigError ? error.message : startFailure(error));
  process.exitCode = 1;
  // Whatever still runs (a pool, a timer) must not keep a failed start alive; logs flush first.
  setTimeout(() => process.exit(1), 2000).unref();
});
