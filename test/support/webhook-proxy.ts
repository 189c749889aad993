import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ProxyCounts {
  /** Requests the proxy received (the sandbox's delivery attempts). */
  received: number;
  /** First deliveries the proxy failed on purpose (500), which Stripe's retries must make up for. */
  failedOnPurpose: number;
  /** Forwarded and answered 2xx by an instance. */
  delivered: number;
  /** Forwarded and answered otherwise (or not at all: the instance was down). */
  refused: number;
}

/**
 * The load balancer in front of the service's instances, for webhooks: round robin over the
 * instances that answer (one that refuses the connection is skipped), plus a chaos switch that
 * answers 500 to a fixed share of first deliveries (chosen by the event id's hash, so the share is
 * exact over many events), as a flaky network would.
 */
export class WebhookProxy {
  readonly counts: ProxyCounts = { received: 0, failedOnPurpose: 0, delivered: 0, refused: 0 };
  private readonly seen = new Set<string>();
  private next = 0;

  private constructor(
    private readonly server: Server,
    private readonly targets: () => string[],
    private readonly failFirstPercent: number,
  ) {}

  static async start(targets: () => string[], failFirstPercent: number): Promise<WebhookProxy> {
    const holder: { proxy?: WebhookProxy } = {};
    const server = createServer((req, res) => void holder.proxy!.handle(req, res));
    const proxy = new WebhookProxy(server, targets, failFirstPercent);
    holder.proxy = proxy;
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    return proxy;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/api/webhooks/stripe`;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks);
    this.counts.received++;
    const id = /"id":\s*"(evt_[^"]+)"/.exec(body.toString('utf8'))?.[1] ?? '';
    const first = !this.seen.has(id);
    this.seen.add(id);
    if (first && createHash('sha256').update(id).digest().readUInt16BE(0) % 100 < this.failFirstPercent) {
      this.counts.failedOnPurpose++;
      res.writeHead(500, { 'Content-Type': 'application/json' }).end('{"error":"chaos"}');
      return;
    }
    const targets = this.targets();
    for (let tried = 0; tried < targets.length; tried++) {
      const target = targets[this.next++ % targets.length];
      try {
        const answer = await fetch(`${target}/api/webhooks/stripe`, {
          method: 'POST',
          headers: {
            'Content-Type': req.headers['content-type'] ?? 'application/json',
            'Stripe-Signature': String(req.headers['stripe-signature'] ?? ''),
          },
          body,
          signal: AbortSignal.timeout(15_000),
        });
        const text = await answer.text();
        if (answer.ok) this.counts.delivered++;
        else this.counts.refused++;
        res.writeHead(answer.status, { 'Content-Type': 'application/json' }).end(text);
        return;
      } catch {
        // That instance is down (refused, reset, silent): the next one.
      }
    }
    this.counts.refused++;
    res.writeHead(502).end();
  }
}
