import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';

export interface RecordedRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: IncomingMessage['headers'];
  /** The form-encoded body, keys as Stripe writes them: `line_items[0][price_data][unit_amount]`. */
  form: URLSearchParams;
}

export interface StubSession {
  id: string;
  object: 'checkout.session';
  url: string | null;
  status: 'open' | 'complete' | 'expired';
  payment_status: 'paid' | 'unpaid' | 'no_payment_required';
  amount_total: number;
  currency: string;
  client_reference_id: string | null;
  metadata: Record<string, string>;
  payment_intent: string | Record<string, unknown> | null;
  expires_at: number;
  success_url: string;
}

type Fault = { kind: 'status'; status: number } | { kind: 'hang' };

/**
 * A stand-in for Stripe's API at the HTTP level, for tests of what our adapter sends and how it
 * copes with failures: it records every request, honours idempotency keys like Stripe (replays the
 * first answer), and can answer the next requests with an error or not at all.
 */
export class StripeStub {
  readonly requests: RecordedRequest[] = [];
  readonly sessions = new Map<string, StubSession>();
  private readonly replays = new Map<string, StubSession>();
  private readonly faults: Fault[] = [];
  private readonly hanging: ServerResponse[] = [];
  private server!: Server;
  port = 0;

  async start(): Promise<this> {
    this.server = createServer((req, res) => void this.handle(req, res));
    this.server.listen(0, '127.0.0.1');
    await once(this.server, 'listening');
    this.port = (this.server.address() as { port: number }).port;
    return this;
  }

  async stop(): Promise<void> {
    this.hanging.forEach((res) => res.destroy());
    this.server.closeAllConnections();
    this.server.close();
    await once(this.server, 'close');
  }

  /** Forgets every request, session and idempotency record (between tests). */
  reset(): void {
    this.requests.length = 0;
    this.sessions.clear();
    this.replays.clear();
    this.faults.length = 0;
  }

  /** The next request is answered with this HTTP status (a Stripe-shaped api_error). */
  failNext(status = 500): void {
    this.faults.push({ kind: 'status', status });
  }

  /** The next request gets no answer at all (the client must time out). */
  hangNext(): void {
    this.faults.push({ kind: 'hang' });
  }

  creations(): RecordedRequest[] {
    return this.requests.filter((r) => r.method === 'POST' && r.path === '/v1/checkout/sessions');
  }

  /** Changes a session as if the customer had acted on Stripe's page. */
  update(sessionId: string, changes: Partial<StubSession>): void {
    Object.assign(this.sessions.get(sessionId)!, changes);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const url = new URL(req.url ?? '/', 'http://stub');
    const form = new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
    this.requests.push({
      method: req.method ?? 'GET',
      path: url.pathname,
      query: url.searchParams,
      headers: req.headers,
      form,
    });

    const fault = this.faults.shift();
    if (fault?.kind === 'hang') return void this.hanging.push(res);
    if (fault)
      return this.reply(res, fault.status, { error: { type: 'api_error', message: 'Stub failure' } });

    const key = req.headers['idempotency-key'];
    if (req.method === 'POST' && url.pathname === '/v1/checkout/sessions') {
      const replay = typeof key === 'string' ? this.replays.get(key) : undefined;
      if (replay) return this.reply(res, 200, replay);
      const session = this.createSession(form);
      if (typeof key === 'string') this.replays.set(key, session);
      return this.reply(res, 200, session);
    }
    const match = /^\/v1\/checkout\/sessions\/([^/]+)(\/expire)?$/.exec(url.pathname);
    const session = match && this.sessions.get(match[1]);
    if (!session) {
      return this.reply(res, 404, {
        error: { type: 'invalid_request_error', message: 'No such checkout.session' },
      });
    }
    if (match[2]) {
      if (session.status !== 'open') {
        return this.reply(res, 400, {
          error: {
            type: 'invalid_request_error',
            message: `Only Checkout Sessions with a status of open can be expired. This Checkout Session has a status of ${session.status}.`,
          },
        });
      }
      Object.assign(session, { status: 'expired', url: null });
    }
    return this.reply(res, 200, session);
  }

  private createSession(form: URLSearchParams): StubSession {
    let amount = 0;
    for (let i = 0; form.has(`line_items[${i}][quantity]`); i++) {
      amount +=
        Number(form.get(`line_items[${i}][price_data][unit_amount]`)) *
        Number(form.get(`line_items[${i}][quantity]`));
    }
    const id = `cs_test_${randomBytes(29).toString('hex').slice(0, 58)}`;
    const session: StubSession = {
      id,
      object: 'checkout.session',
      url: `http://127.0.0.1:${this.port}/c/pay/${id}`,
      status: 'open',
      payment_status: 'unpaid',
      amount_total: amount,
      currency: form.get('line_items[0][price_data][currency]') ?? 'usd',
      client_reference_id: form.get('client_reference_id'),
      metadata: { orderId: form.get('metadata[orderId]') ?? '' },
      payment_intent: null,
      expires_at: Number(form.get('expires_at')),
      success_url: form.get('success_url') ?? '',
    };
    this.sessions.set(id, session);
    return session;
  }

  private reply(res: ServerResponse, status: number, body: unknown): void {
    res.writeHead(status, {
      'Content-Type': 'application/json',
      'Request-Id': `req_${randomBytes(6).toString('hex')}`,
    });
    res.end(JSON.stringify(body));
  }
}
