import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { SANDBOX_SECRET_KEY } from '../../src/config';
import { sandboxStripe, startSandboxProcess, startWebhookReceiver } from '../support/sandbox';

const run = promisify(execFile);
const ROOT = join(__dirname, '..', '..');

/**
 * The official Stripe CLI (`@stripe/cli`, a dev dependency) against the standalone sandbox
 * (`npm run sandbox`, built): `stripe trigger checkout.session.expired` creates a product, a price
 * and a Checkout Session, expires it, and the event reaches the webhook endpoint, signed.
 */
describe('Stripe CLI against the sandbox', () => {
  const home = mkdtempSync(join(tmpdir(), 'stripe-cli-'));
  afterAll(() => rmSync(home, { recursive: true, force: true }));

  it('completes `stripe trigger checkout.session.expired`, and the event is delivered', async () => {
    const receiver = await startWebhookReceiver();
    const sandbox = await startSandboxProcess({ SANDBOX_WEBHOOK_URL: receiver.url });
    try {
      const { stdout, stderr } = await run(
        join(ROOT, 'node_modules/.bin/stripe'),
        ['trigger', 'checkout.session.expired', '--api-key', SANDBOX_SECRET_KEY, '--api-base', sandbox.url],
        {
          cwd: ROOT,
          timeout: 60_000,
          // Offline: no telemetry; its update check fails fast; its config stays in a temporary home.
          env: { ...process.env, STRIPE_CLI_TELEMETRY_OPTOUT: '1', HOME: home, XDG_CONFIG_HOME: home },
        },
      );
      expect(`${stdout}${stderr}`).toContain('Trigger succeeded!');

      const [delivery] = await receiver.waitForCount(1);
      expect(delivery.event.type).toBe('checkout.session.expired');
      expect(receiver.rejected).toEqual([]);

      const stripe = sandboxStripe(sandbox.url);
      const session = await stripe.checkout.sessions.retrieve(
        (delivery.event.data.object as { id: string }).id,
        {
          expand: ['line_items'],
        },
      );
      expect(session).toMatchObject({ status: 'expired', amount_total: 3000, currency: 'usd' });
      expect(session.line_items?.data[0]).toMatchObject({ description: 'myproduct', quantity: 2 });
      expect(sandbox.output()).toContain(`Event ${delivery.event.id} checkout.session.expired`);
    } finally {
      await sandbox.stop();
      await receiver.close();
    }
  }, 90_000);
});
