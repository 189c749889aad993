import { AppConfig, SANDBOX_SECRET_KEY } from './app-config';
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
    expect(config.database).toEqual({ kind: 'postgresql', url: 'postgresql://app@db:5432/shop' });
    expect(config.stripe).toMatchObject({ mode: 'stripe', webhookSecrets: ['whsec_new', 'whsec_old'] });
    expect(config.stripe.api).toBeUndefined();
    expect(config.publicUrl).toBe('https://shop.example.com');
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
  ])('stops on a bad %s, naming it', (name, value) => {
    expect(() => parseEnv({ [name]: value })).toThrow(ConfigError);
    expect(() => parseEnv({ [name]: value })).toThrow(new RegExp(`\\b${name}\\b`));
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
