import { LazyModuleLoader } from '@nestjs/core';
import { Test } from '@nestjs/testing';
import { freePort } from '../../test/support/service-process';
import { AppConfig, ConfigModule, parseEnv } from '../config';
import { SandboxModule } from './sandbox.module';

/** The service's SandboxModule, configured from `env` on top of the test environment. */
async function sandboxModuleWith(env: Record<string, string>) {
  const config = new AppConfig(parseEnv({ ...process.env, SANDBOX_RETRY_SCHEDULE: 'none', ...env }));
  const moduleRef = await Test.createTestingModule({ imports: [ConfigModule, SandboxModule] })
    .overrideProvider(AppConfig)
    .useValue(config)
    .compile();
  moduleRef.useLogger(false);
  return moduleRef;
}

describe('SandboxModule (inside the service)', () => {
  afterEach(() => jest.restoreAllMocks());

  it('on a real Stripe key, loads nothing of the sandbox and opens no port', async () => {
    const load = jest.spyOn(LazyModuleLoader.prototype, 'load');
    const port = await freePort();
    const moduleRef = await sandboxModuleWith({
      STRIPE_SECRET_KEY: 'sk_test_real_account',
      STRIPE_WEBHOOK_SECRET: 'whsec_real_account',
      SANDBOX_PORT: String(port),
    });
    await moduleRef.init();
    try {
      expect(load).not.toHaveBeenCalled();
      await expect(fetch(`http://127.0.0.1:${port}/v1/products`)).rejects.toThrow();
    } finally {
      await moduleRef.close();
    }
  });

  it('in sandbox mode, loads the sandbox and answers on SANDBOX_PORT until the module closes', async () => {
    const load = jest.spyOn(LazyModuleLoader.prototype, 'load');
    const port = await freePort();
    const env = { SANDBOX_PORT: String(port), SANDBOX_WEBHOOK_URL: `http://127.0.0.1:${await freePort()}/` };
    const moduleRef = await sandboxModuleWith({ ...env, STRIPE_SECRET_KEY: '', PAYMENTS_MODE: 'sandbox' });
    await moduleRef.init();
    try {
      expect(load).toHaveBeenCalledTimes(1);
      const answer = await fetch(`http://127.0.0.1:${port}/v1/products`);
      // The sandbox's API: without a key, Stripe's 401.
      expect(answer.status).toBe(401);
    } finally {
      await moduleRef.close();
    }
    await expect(fetch(`http://127.0.0.1:${port}/v1/products`)).rejects.toThrow();
  });
});
