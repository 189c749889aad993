import { AppConfig, SANDBOX_SECRET_KEY, SANDBOX_WEBHOOK_SECRET } from './app-config';
import { ConfigError, parseEnv } from './env';

describe('parseEnv', () => {
  it('runs on defaults: embedded database, sandbox Stripe, port 3000', () => {
    const config = new AppConfig(parseEnv({}));
    expect(config.port).toBe(3000);
    expect(config.database.kind).toBe('pglite');
    expect(config.stripe).toMatchObject({ mode: 'sandbox', secretKey: SANDBOX_SECRET_KEY });
    expect(config.stripe.api).toEqual({ host: '127.0.0.1', port: 12111, protocol: 'http' });
    expect(config.publicUrl).toBe('http://localhost:3000');
  });

  it('reads PostgreSQL, real Stripe and a rotated webhook secret list', () => {
    const config = new AppConfig(
      parseEnv({
        DATABASE_URL: 'postgresql://app@db:5432/shop',
        STRIPE_SECRET_KEY: 'sk_test_abc123',
        STRIPE_WEBHOOK_SECRET: 'whsec_new, whsec_old',
        PUBLIC_URL: 'https://shop.example.com/',
      }),
    );
    expect(config.database).toEqual({
      kind: 'postgresql',
      url: 'postgresql://app@db:5432/shop',
      limits: {
        connectTimeoutMs: 3000,
        statementTimeoutMs: 5000,
        lockTimeoutMs: 2000,
        preparedStatements: true,
      },
    });
    expect(config.stripe).toMatchObject({ mode: 'stripe', webhookSecrets: ['whsec_new', 'whsec_old'] });
    expect(config.stripe.api).toBeUndefined();
    expect(config.publicUrl).toBe('https://shop.example.com');
  });

  it('configures the sandbox: webhooks to this service by default, retry schedule, chaos switches', () => {
    const defaults = new AppConfig(parseEnv({ PORT: '4000' })).sandbox;
    expect(defaults).toMatchObject({
      enabled: true,
      port: 12111,
      webhookUrl: 'http://127.0.0.1:4000/api/webhooks/stripe',
      webhookSecret: SANDBOX_WEBHOOK_SECRET,
      settlementSeconds: 10,
      retryScheduleSeconds: [5, 30, 120, 600, 3600],
      chaos: { duplicates: false, outOfOrder: false, delaySeconds: 0 },
    });
    expect(defaults.publicUrl).toBeUndefined();

    const custom = new AppConfig(
      parseEnv({
        SANDBOX_WEBHOOK_URL: 'http://127.0.0.1:9999/hook',
        SANDBOX_PUBLIC_URL: 'https://pay.example.test/',
        SANDBOX_RETRY_SCHEDULE: '0.5, 2',
        SANDBOX_CHAOS: 'duplicates,out_of_order',
        SANDBOX_CHAOS_DELAY_SECONDS: '30',
        STRIPE_WEBHOOK_SECRET: 'whsec_rotated_new,whsec_rotated_old',
      }),
    ).sandbox;
    expect(custom).toMatchObject({
      webhookUrl: 'http://127.0.0.1:9999/hook',
      publicUrl: 'https://pay.example.test',
      webhookSecret: 'whsec_rotated_new',
      retryScheduleSeconds: [0.5, 2],
      chaos: { duplicates: true, outOfOrder: true, delaySeconds: 30 },
    });
    expect(new AppConfig(parseEnv({ SANDBOX_RETRY_SCHEDULE: 'none' })).sandbox.retryScheduleSeconds).toEqual(
      [],
    );
  });

  it.each([
    ['PORT', 'eighty'],
    ['PORT', '70000'],
    ['DATABASE_URL', 'mysql://root@localhost/shop'],
    ['STRIPE_SECRET_KEY', 'pk_test_publishable'],
    ['STRIPE_WEBHOOK_SECRET', 'whsec_ok,not-a-secret'],
    ['CHECKOUT_EXPIRES_MINUTES', '10'],
    ['CHECKOUT_EXPIRES_MINUTES', '1500'],
    ['RATE_LIMIT_PER_MINUTE', '-1'],
    ['REDIS_URL', 'localhost:6379'],
    ['PUBLIC_URL', 'ftp://shop'],
    ['SANDBOX_WEBHOOK_URL', 'not a url'],
    ['SANDBOX_RETRY_SCHEDULE', '5,soon'],
    ['SANDBOX_CHAOS', 'gremlins'],
    ['SANDBOX_SETTLEMENT_SECONDS', '-1'],
    ['METRICS_PORT', '0'],
    ['METRICS_PORT', 'nine'],
  ])('stops on a bad %s, naming it', (name, value) => {
    expect(() => parseEnv({ [name]: value })).toThrow(ConfigError);
    expect(() => parseEnv({ [name]: value })).toThrow(new RegExp(`\\b${name}\\b`));
  });

  describe('PAYMENTS_MODE: fail closed', () => {
    const key = 'sk_test_abc123';
    const whsec = 'whsec_abc123';
    const mode = (env: Record<string, string>) => new AppConfig(parseEnv(env)).stripe;

    it('unset: stripe with a key, else the sandbox; explicit values win', () => {
      expect(mode({})).toMatchObject({ mode: 'sandbox', livemode: false });
      expect(mode({ STRIPE_SECRET_KEY: key, STRIPE_WEBHOOK_SECRET: whsec })).toMatchObject({
        mode: 'stripe',
      });
      expect(mode({ PAYMENTS_MODE: 'sandbox', NODE_ENV: 'production' })).toMatchObject({ mode: 'sandbox' });
      expect(
        mode({ STRIPE_SECRET_KEY: 'rk_live_abc', STRIPE_WEBHOOK_SECRET: whsec, NODE_ENV: 'production' }),
      ).toMatchObject({ mode: 'stripe', livemode: true });
    });

    it.each([
      [{ NODE_ENV: 'production' }, ['STRIPE_SECRET_KEY', 'STRIPE_WEBHOOK_SECRET']],
      [{ NODE_ENV: 'production', STRIPE_SECRET_KEY: key }, ['STRIPE_WEBHOOK_SECRET']],
      [{ NODE_ENV: 'production', STRIPE_WEBHOOK_SECRET: whsec }, ['STRIPE_SECRET_KEY']],
      [{ STRIPE_SECRET_KEY: key }, ['STRIPE_WEBHOOK_SECRET']],
      [{ PAYMENTS_MODE: 'stripe', STRIPE_WEBHOOK_SECRET: whsec }, ['STRIPE_SECRET_KEY']],
      [{ STRIPE_SECRET_KEY: key, STRIPE_WEBHOOK_SECRET: SANDBOX_WEBHOOK_SECRET }, ['STRIPE_WEBHOOK_SECRET']],
      [{ PAYMENTS_MODE: 'sandbox', STRIPE_SECRET_KEY: key }, ['STRIPE_SECRET_KEY']],
      [{ PAYMENTS_MODE: 'live' }, ['PAYMENTS_MODE']],
    ])('refuses %j, naming %j on one line', (env, variables) => {
      let message = '';
      try {
        parseEnv(env);
      } catch (error) {
        expect(error).toBeInstanceOf(ConfigError);
        message = (error as Error).message;
      }
      expect(message.split('\n')).toHaveLength(1);
      for (const variable of variables) expect(message).toContain(variable);
      expect(message).not.toContain(key);
    });

    it('the in-process sandbox listens on loopback unless SANDBOX_HOST says otherwise', () => {
      expect(new AppConfig(parseEnv({})).sandbox.host).toBe('127.0.0.1');
      expect(new AppConfig(parseEnv({ SANDBOX_HOST: '0.0.0.0' })).sandbox.host).toBe('0.0.0.0');
    });
  });

  it('reads TRUST_PROXY as Express does: hops, a flag, or addresses', () => {
    expect(new AppConfig(parseEnv({})).trustProxy).toBe(false);
    expect(new AppConfig(parseEnv({ TRUST_PROXY: '1' })).trustProxy).toBe(1);
    expect(new AppConfig(parseEnv({ TRUST_PROXY: 'true' })).trustProxy).toBe(true);
    expect(new AppConfig(parseEnv({ TRUST_PROXY: 'loopback, 10.0.0.0/8' })).trustProxy).toBe(
      'loopback, 10.0.0.0/8',
    );
  });

  it('serves metrics only when METRICS_PORT is set', () => {
    expect(new AppConfig(parseEnv({})).metricsPort).toBeUndefined();
    expect(new AppConfig(parseEnv({ METRICS_PORT: '9464' })).metricsPort).toBe(9464);
  });

  it('never echoes the value it refuses', () => {
    const secret = 'sk_live_with-a-dash-so-it-is-invalid';
    let message = '';
    try {
      parseEnv({ STRIPE_SECRET_KEY: secret });
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toContain('STRIPE_SECRET_KEY');
    expect(message).not.toContain(secret);
  });
});
