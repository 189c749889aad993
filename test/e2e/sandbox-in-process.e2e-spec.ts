import Stripe from 'stripe';
import { SANDBOX_SECRET_KEY } from '../../src/config';
import { AppConfig } from '../../src/config';
import { createTestApp } from '../support/app';
import { startWebhookReceiver } from '../support/sandbox';
import { freePort } from '../support/service-process';

/**
 * Without STRIPE_SECRET_KEY the service starts the sandbox in its own process, on SANDBOX_PORT,
 * before it serves; `config.stripe.api` (what the Stripe adapter uses) points at it; it stops with
 * the service. With a key, there is no sandbox.
 */
describe('Sandbox started by the service', () => {
  const answers = (url: string) =>
    fetch(`${url}/_sandbox/health`).then(
      (response) => response.ok,
      () => false,
    );

  it('runs on SANDBOX_PORT once the application is initialized, reached as config.stripe.api says', async () => {
    const receiver = await startWebhookReceiver();
    const sandboxPort = await freePort();
    const t = await createTestApp({
      env: { SANDBOX_PORT: String(sandboxPort), SANDBOX_WEBHOOK_URL: receiver.url },
    });
    const url = `http://127.0.0.1:${sandboxPort}`;
    try {
      expect(await answers(url)).toBe(true);
      const config = t.app.get(AppConfig);
      expect(config.stripe).toMatchObject({
        mode: 'sandbox',
        api: { host: '127.0.0.1', port: sandboxPort, protocol: 'http' },
      });

      // What the payments adapter does: the stripe SDK with host/port/protocol from config.stripe.api.
      const stripe = new Stripe(config.stripe.secretKey, { ...config.stripe.api, maxNetworkRetries: 0 });
      const session = await stripe.checkout.sessions.create({
        mode: 'payment',
        line_items: [{ price_data: { currency: 'usd', unit_amount: 1450, product_data: { name: 'Beans' } }, quantity: 1 }],
        success_url: 'http://localhost:3000/checkout/success?session_id={CHECKOUT_SESSION_ID}',
        expires_at: Math.floor(Date.now() / 1000) + 3600,
      }); // prettier-ignore
      expect(session.url).toBe(`${url}/c/pay/${session.id}`);
      await stripe.checkout.sessions.expire(session.id);
      const [delivery] = await receiver.waitForCount(1);
      expect(delivery.event).toMatchObject({
        type: 'checkout.session.expired',
        data: { object: { id: session.id } },
      });
      expect(config.stripe.secretKey).toBe(SANDBOX_SECRET_KEY);
    } finally {
      await t.close();
      await receiver.close();
    }
    expect(await answers(url)).toBe(false);
  });

  it('does not start with a STRIPE_SECRET_KEY', async () => {
    const sandboxPort = await freePort();
    const t = await createTestApp({
      env: {
        STRIPE_SECRET_KEY: 'sk_test_real_account_key',
        STRIPE_WEBHOOK_SECRET: 'whsec_real_account_secret',
        SANDBOX_PORT: String(sandboxPort),
      },
    });
    try {
      expect(t.app.get(AppConfig).sandbox.enabled).toBe(false);
      expect(await answers(`http://127.0.0.1:${sandboxPort}`)).toBe(false);
    } finally {
      await t.close();
    }
  });
});
