import { MikroORM } from '@mikro-orm/core';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { AbstractLoader, ExpressLoader } from '@nestjs/serve-static';
import { Test } from '@nestjs/testing';
import { AppModule } from '../../src/app.module';
import { configureApp } from '../../src/app.setup';
import { AppConfig, parseEnv } from '../../src/config';
import { freePort } from './service-process';

export interface TestApp {
  app: NestExpressApplication;
  orm: MikroORM;
  /** A fresh unit of work for assertions against the database. */
  em(): EntityManager;
  /** The HTTP server, for supertest. */
  http(): Parameters<typeof import('supertest')>[0];
  close(): Promise<void>;
}

/**
 * Boots the real AppModule against the test database, configured exactly as `main.ts` does, with
 * `env` added to the environment. `listen: true` serves on a free port, which is also `PORT` in its
 * configuration (so PUBLIC_URL and the sandbox's webhook URL point at it). Without
 * STRIPE_SECRET_KEY the Stripe sandbox starts too, on a free SANDBOX_PORT unless `env` names one:
 * engineers run tests side by side on one machine.
 */
export async function createTestApp(
  options: { env?: Record<string, string>; listen?: boolean } = {},
): Promise<TestApp> {
  const ports = {
    ...(options.listen ? { PORT: String(await freePort()) } : {}),
    SANDBOX_PORT: String(await freePort()),
  };
  const config = new AppConfig(parseEnv({ ...process.env, ...ports, ...options.env }));
  const moduleRef = await Test.createTestingModule({ imports: [AppModule] })
    .overrideProvider(AppConfig)
    .useValue(config)
    // ServeStaticModule picks its loader from the HTTP adapter, which a testing module gets only after
    // compiling: without this it would serve nothing (NestFactory has the adapter from the start).
    .overrideProvider(AbstractLoader)
    .useClass(ExpressLoader)
    .compile();
  const app = configureApp(moduleRef.createNestApplication<NestExpressApplication>({ rawBody: true }));
  if (options.listen) await app.listen(config.port, '127.0.0.1');
  else await app.init();
  const orm = app.get(MikroORM);
  return {
    app,
    orm,
    em: () => orm.em.fork() as EntityManager,
    http: () => app.getHttpServer(),
    close: () => app.close(),
  };
}
