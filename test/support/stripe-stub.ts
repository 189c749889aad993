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

type Fault = { kind: 'status'; status: number } | { kind: 'hang' } | { kind: 'drop' };

interface SavedAnswer {
  endpoint: string;
  body: string;
  status: number;
  answer: unknown;
}

/**
 * A stand-in for Stripe's API at the HTTP level, for tests of what our adapter sends and how it
 * copes with failures: it records every request, honours idempotency keys like Stripe (the first
 * answer to a POST with a key, error or not, is replayed with `Idempotent-Replayed: true`; the same
 * key with another endpoint or body is a 400 `idempotency_error`), and can answer the next requests
 * with an error (saved under the key, as Stripe saves it), not at all (nothing done, nothing saved),
 * or do the work and drop the answer (saved under the key).
 */
export class StripeStub {
  readonly requests: RecordedRequest[] = [];
  readonly sessions = new Map<string, StubSession>();
  private readonly replays = new Map<string, SavedAnswer>();
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

  /**
   * The next request is answered with this HTTP status (a Stripe-shaped api_error), having done
   * nothing; the answer is saved under its idempotency key and replayed. (A request whose key has a
   * saved answer gets that answer instead, as from Stripe.)
   */
  failNext(status = 500): void {
    this.faults.push({ kind: 'status', status });
  }

  /** The next request gets no answer at all, having done nothing (the client must time out). */
  hangNext(): void {
    this.faults.push({ kind: 'hang' });
  }

  /** The next request is done (or replayed) and saved under its key, but its connection closes unanswered. */
  dropNext(): void {
    this.faults.push({ kind: 'drop' });
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

    // Faults meet requests in order, replays included: a hang is lost on the way (nothing done), a
    // dropped answer is lost on the way back; a status fault is the endpoint failing, so a request
    // Stripe answers from its idempotency record gets that record instead.
    const fault = this.faults.shift();
    if (fault?.kind === 'hang') return void this.hanging.push(res);
    const key = req.method === 'POST' ? req.headers['idempotency-key'] : undefined;
    const endpoint = `${req.method} ${url.pathname}`;
    const body = form.toString();
    const saved = typeof key === 'string' ? this.replays.get(key) : undefined;
    let status: number;
    let answer: unknown;
    let headers: Record<string, string> = {};
    if (saved && saved.endpoint !== endpoint) {
      status = 400;
      answer = {
        error: {
          type: 'idempotency_error',
          message: `Keys for idempotent requests can only be used for the same endpoint they were first used for ('${saved.endpoint}' vs '${endpoint}').`,
        },
      };
    } else if (saved && saved.body !== body) {
      status = 400;
      answer = {
        error: {
          type: 'idempotency_error',
          message: `Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than '${String(key)}' if you meant to execute a different request.`,
        },
      };
    } else if (saved) {
      [status, answer, headers] = [saved.status, saved.answer, { 'Idempotent-Replayed': 'true' }];
    } else {
      [status, answer] =
        fault?.kind === 'status'
          ? [fault.status, { error: { type: 'api_error', message: 'An unknown error occurred' } }]
          : this.execute(req.method ?? 'GET', url.pathname, form);
      if (typeof key === 'string') this.replays.set(key, { endpoint, body, status, answer });
    }
    if (fault?.kind === 'drop') return void res.socket?.destroy();
    return this.reply(res, status, answer, headers);
  }

  private execute(method: string, path: string, form: URLSearchParams): [number, unknown] {
    if (method === 'POST' && path === '/v1/checkout/sessions') return [200, { ...this.createSession(form) }];
    const match = /^\/v1\/checkout\/sessions\/([^/]+)(\/expire)?$/.exec(path);
    const session = match && this.sessions.get(match[1]);
    if (!session) {
      return [404, { error: { type: 'invalid_request_error', message: 'No such checkout.session' } }];
    }
    if (match[2]) {
      if (session.status !== 'open') {
        return [
          400,
          {
            error: {
              type: 'invalid_request_error',
              message: `Only Checkout Sessions with a status of open can be expired. This Checkout Session has a status of ${session.status}.`,
            },
          },
        ];
      }
      Object.assign(session, { status: 'expired', url: null });
    }
    return [200, { ...session }];
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

  private reply(
    res: ServerResponse,
    status: number,
    body: unknown,
    headers: Record<string, string> = {},
  ): void {
    res.writeHead(status, {
      'Content-Type': 'application/json',
      'Request-Id': `req_${randomBytes(6).toString('hex')}`,
      ...headers,
    });
    res.end(JSON.stringify(body));
  }
}
