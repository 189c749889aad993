import 'reflect-metadata';
import { existsSync } from 'node:fs';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { Logger } from 'nestjs-pino';
import { AppModule } from './app.module';
import { configureApp } from './app.setup';
import { AppConfig, ConfigError, parseEnv } from './config';

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
  await app.listen(config.port);
  app
    .get(Logger)
    .log(
      `Serving on port ${config.port}: storefront ${config.publicUrl}/, API docs ${config.publicUrl}/api/docs`,
    );
}

bootstrap().catch((error: unknown) => {
  // A configuration error names the variables at fault and never their values: one line, no stack.
  console.error(error instanceof ConfigError ? error.message : error);
  process.exit(1);
});
