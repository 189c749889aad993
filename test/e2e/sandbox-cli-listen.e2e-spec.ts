import { execFileSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SANDBOX_SECRET_KEY } from '../../src/config';
import { createTestApp, type TestApp } from '../support/app';
import { truncateAll } from '../support/db';
import { placeOrder } from '../support/factories';
import { ledgerRow, orderRow, startCheckout } from '../support/payments';
import {
  payWithCard,
  startTestSandbox,
  startWebhookReceiver,
  TEST_CARDS,
  type TestSandbox,
} from '../support/sandbox';
import { type ListenProcess, StripeCli } from '../support/stripe-cli';
import { waitFor } from '../support/wait';

interface CliStatus {
  sessions: { session: string; connected: boolean }[];
  forwards: {
    eventId: string;
    type: string;
    acked: boolean;
    responses: { status: number; forwardUrl: string }[];
  }[];
}

async function cliStatus(sandbox: TestSandbox): Promise<CliStatus> {
  return (await (await fetch(`${sandbox.baseUrl}/_sandbox/stripe-cli`)).json()) as CliStatus;
}

/**
 * `stripe listen` (the official Stripe CLI) against the sandbox, offline, as Stripe documents the
 * two-terminal workflow: the CLI opens a session (`POST /v1/stripecli/sessions`), prints the
 * signing secret, receives every event over its websocket, forwards each one signed to the local
 * endpoint, and reports the endpoint's answer back. The sandbox's own webhook endpoint goes nowhere
 * here: what reaches the service came through the CLI.
 */
describe('Stripe CLI `stripe listen` against the sandbox', () => {
  const cli = new StripeCli();
  let sandbox: TestSandbox;
  let listen: ListenProcess | undefined;

  beforeAll(async () => {
    sandbox = await startTestSandbox();
  });
  afterEach(async () => {
    await listen?.stop();
    listen = undefined;
  });
  afterAll(async () => {
    await sandbox.close();
    cli.cleanUp();
  });

  it('prints the same signing secret in every session (`--print-secret`)', async () => {
    const first = (await cli.run(['listen', '--print-secret'], sandbox.baseUrl)).trim();
    const second = (await cli.run(['listen', '--print-secret'], sandbox.baseUrl)).trim();
    expect(first).toMatch(/(^|\n)whsec_[0-9a-f]{64}$/);
    expect(first.split('\n').pop()).toBe(second.split('\n').pop());
    // The status page names sessions by their id's end only, and never shows the secret.
    const status = await cliStatus(sandbox);
    expect(status.sessions.length).toBeGreaterThanOrEqual(2);
    for (const { session } of status.sessions) expect(session).toMatch(/^cliws_…\w{4}$/);
    expect(JSON.stringify(status)).not.toContain(second.split('\n').pop());
  });

  it('refuses a session without the secret key, as Stripe does', async () => {
    const response = await fetch(`${sandbox.baseUrl}/v1/stripecli/sessions`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: 'device_name=x&websocket_features[]=webhooks',
    });
    expect(response.status).toBe(401);
    const other = await fetch(`${sandbox.baseUrl}/v1/stripecli/sessions`, {
      method: 'POST',
      headers: {
        Authorization: `Bearer ${SANDBOX_SECRET_KEY}`,
        'Content-Type': 'application/x-www-form-urlencoded',
      },
      body: 'device_name=x&websocket_features[]=request_logs',
    });
    expect(other.status).toBe(400);
    expect(await other.json()).toMatchObject({ error: { param: 'websocket_features[0]' } });
  });

  describe('forwarding to the service', () => {
    let t: TestApp;
    let secret: string;

    beforeAll(async () => {
      secret = (await cli.run(['listen', '--print-secret'], sandbox.baseUrl)).trim().split('\n').pop()!;
      const url = new URL(sandbox.baseUrl);
      t = await createTestApp({
        listen: true,
        env: {
          STRIPE_SECRET_KEY: SANDBOX_SECRET_KEY,
          STRIPE_WEBHOOK_SECRET: secret,
          STRIPE_API_HOST: url.hostname,
          STRIPE_API_PORT: url.port,
          STRIPE_API_PROTOCOL: 'http',
        },
      });
    });
    afterAll(() => t.close());
    beforeEach(() => truncateAll(t.orm));

    it('delivers a card payment to the service, which applies it once, and reports its answers', async () => {
      const address = t.app.getHttpServer().address() as AddressInfo;
      const forwardTo = `http://127.0.0.1:${address.port}/api/webhooks/stripe`;
      listen = cli.listen(['--forward-to', forwardTo], sandbox.baseUrl);
      expect(await listen.ready()).toBe(secret);

      const order = await placeOrder(t);
      const { url } = await startCheckout(t, order);
      const before = (await cliStatus(sandbox)).forwards.length;
      const paid = await payWithCard(url, { number: TEST_CARDS.success });
      expect(paid.status).toBe(303);

      const completed = await waitFor(
        async () =>
          (await cliStatus(sandbox)).forwards
            .slice(before)
            .find((f) => f.type === 'checkout.session.completed' && f.responses.length > 0),
        'the CLI to report the service answer to checkout.session.completed',
      );
      expect(completed.acked).toBe(true);
      expect(completed.responses).toEqual([{ status: 200, forwardUrl: forwardTo, at: expect.any(Number) }]);
      expect(await ledgerRow(t, completed.eventId)).toMatchObject({
        type: 'checkout.session.completed',
        outcome: 'applied',
        order_id: order.id,
        deliveries: 1,
      });
      expect(await orderRow(t, order.id)).toMatchObject({ status: 'paid' });
      // The CLI shows each forward and the service's answer.
      await listen.waitForOutput(
        new RegExp(`<--\\s+\\[200\\] POST ${forwardTo.replace(/[.?]/g, '\\$&')} \\[${completed.eventId}\\]`),
      );
    });

    it('forwards what `stripe trigger` makes, signed with the listen secret', async () => {
      const address = t.app.getHttpServer().address() as AddressInfo;
      const forwardTo = `http://127.0.0.1:${address.port}/api/webhooks/stripe`;
      listen = cli.listen(['--forward-to', forwardTo], sandbox.baseUrl);
      await listen.ready();
      const before = (await cliStatus(sandbox)).forwards.length;

      expect(await cli.run(['trigger', 'payment_intent.succeeded'], sandbox.baseUrl)).toContain(
        'Trigger succeeded!',
      );
      const succeeded = await waitFor(
        async () =>
          (await cliStatus(sandbox)).forwards
            .slice(before)
            .find((f) => f.type === 'payment_intent.succeeded' && f.responses.length > 0),
        'the forward of payment_intent.succeeded',
      );
      expect(succeeded.responses.map((r) => r.status)).toEqual([200]);
      // Verified by the service's own signature check, then recorded: an event it does not act on.
      expect(await ledgerRow(t, succeeded.eventId)).toMatchObject({
        type: 'payment_intent.succeeded',
        outcome: 'ignored',
        deliveries: 1,
      });
    });
  });

  it('forwards only the events named by `--events`', async () => {
    const receiver = await startWebhookReceiver({
      secret: (await cli.run(['listen', '--print-secret'], sandbox.baseUrl)).trim().split('\n').pop(),
    });
    try {
      listen = cli.listen(
        ['--events', 'checkout.session.completed', '--forward-to', receiver.url],
        sandbox.baseUrl,
      );
      await listen.ready();
      const before = (await cliStatus(sandbox)).forwards.length;

      expect(await cli.run(['trigger', 'checkout.session.completed'], sandbox.baseUrl)).toContain(
        'Trigger succeeded!',
      );
      // The CLI acknowledges every event it receives, then forwards those it listens for.
      const forwards = await waitFor(async () => {
        const mine = (await cliStatus(sandbox)).forwards.slice(before);
        return (
          mine.length === 6 && mine.every((f) => f.acked) && mine.some((f) => f.responses.length) && mine
        );
      }, 'the six events of the trigger acknowledged');
      expect(forwards.map((f) => f.type)).toEqual([
        'product.created',
        'price.created',
        'payment_intent.created',
        'charge.succeeded',
        'payment_intent.succeeded',
        'checkout.session.completed',
      ]);
      expect(forwards.filter((f) => f.responses.length).map((f) => f.type)).toEqual([
        'checkout.session.completed',
      ]);
      expect(receiver.received.map((r) => r.event.type)).toEqual(['checkout.session.completed']);
      expect(receiver.rejected).toEqual([]);
    } finally {
      await receiver.close();
    }
  });

  describe('an HTTPS endpoint with a self-signed certificate', () => {
    const dir = mkdtempSync(join(tmpdir(), 'listen-tls-'));
    let server: Server;
    let forwardTo: string;
    const received: string[] = [];

    beforeAll(async () => {
      execFileSync('openssl', [
        'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1',
        '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'),
      ], { stdio: 'ignore' }); // prettier-ignore
      server = createServer(
        { key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(join(dir, 'cert.pem')) },
        (req, res) => {
          received.push(String(req.headers['stripe-signature'] ?? ''));
          req.resume();
          req.on('end', () => res.writeHead(204).end());
        },
      );
      server.listen(0, '127.0.0.1');
      await once(server, 'listening');
      forwardTo = `https://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
    });
    afterAll(async () => {
      server.close();
      await once(server, 'close');
      rmSync(dir, { recursive: true, force: true });
    });

    it('is refused by the CLI, unless `--skip-verify`', async () => {
      listen = cli.listen(['--forward-to', forwardTo], sandbox.baseUrl);
      await listen.ready();
      await cli.run(['trigger', 'customer.created'], sandbox.baseUrl);
      await listen.waitForOutput(/certificate/i);
      await listen.stop();
      expect(received).toEqual([]);

      listen = cli.listen(['--skip-verify', '--forward-to', forwardTo], sandbox.baseUrl);
      await listen.ready();
      await cli.run(['trigger', 'customer.created'], sandbox.baseUrl);
      await listen.waitForOutput(/<--\s+\[204\] POST https:/);
      expect(received).toEqual([expect.stringMatching(/^t=\d+,v1=[0-9a-f]{64}$/)]);
    });
  });
});
