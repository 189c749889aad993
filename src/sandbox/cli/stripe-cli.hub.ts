import { createHmac } from 'node:crypto';
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { Logger } from '@nestjs/common';
import Stripe from 'stripe';
import { type RawData, WebSocket, WebSocketServer } from 'ws';
import type { EventRecord } from '../sandbox.store';
import { alphanumeric, newId } from '../stripe/stripe-ids';
import { signatureHeader } from '../webhooks/webhook-signature';
import { ACCOUNT_API_VERSION } from '../stripe/account-version';

/** Where `stripe listen` opens its websocket (Stripe's own is `wss://stripe-cli.stripe.com/subscribe/…`). */
export const CLI_WEBSOCKET_PATH = '/stripecli/subscribe';
/** The only websocket feature the sandbox serves: webhook events (`stripe logs tail` wants request logs). */
export const WEBHOOK_FEATURE = 'webhooks';
const AUTHORIZED_FEATURE = 'webhook-payloads';
/** The CLI drops its connection and reconnects after this many seconds (`reconnect_delay`). */
const RECONNECT_DELAY_SECONDS = 3600;
/** A session nobody has been connected to for this long is forgotten with its queue. */
const ABANDONED_AFTER_MS = 10 * 60 * 1000;
const MAX_QUEUED = 1000;
const MAX_LOGGED_FORWARDS = 1000;

/** What `POST /v1/stripecli/sessions` answers (the CLI's `StripeCLISession`). */
export interface StripeCliSessionJson {
  display_connect_filter_warning: boolean;
  reconnect_delay: number;
  secret: string;
  websocket_authorized_feature: string;
  websocket_id: string;
  websocket_url: string;
  default_version: string;
  latest_version: string;
  device_token: string;
}

interface CliSession {
  id: string;
  deviceName: string;
  forwardUrl: string | null;
  createdAt: number;
  socket: WebSocket | null;
  /** Wall-clock ms since when no socket was open (set at creation, cleared on connect). */
  disconnectedSince: number | null;
  /** Events created while no socket was open, sent when it connects. */
  queue: EventRecord[];
}

/**
 * A session's websocket id is what admits a websocket to it (a bearer secret): logs and the status
 * page show only its end.
 */
function sessionLabel(id: string): string {
  return `cliws_…${id.slice(-4)}`;
}

/** One event sent to a `stripe listen` session, with what the CLI reported back. */
export interface CliForward {
  eventId: string;
  type: string;
  /** The session's label (its id's end), not its id. */
  session: string;
  webhookConversationId: string;
  sentAt: number;
  acked: boolean;
  /** The status the local endpoint answered the CLI (absent until the CLI reports it). */
  responses: { status: number; forwardUrl: string; at: number }[];
}

interface EventAck {
  type: 'event_ack';
  event_id: string;
  webhook_conversation_id: string;
  webhook_id: string;
}

interface WebhookResponse {
  type: 'webhook_response';
  forward_url: string;
  status: number;
  webhook_conversation_id: string;
  webhook_id: string;
  notification_id?: string;
}

/**
 * `stripe listen` against the sandbox, offline: the CLI's session endpoint and its websocket
 * protocol (the CLI's `pkg/stripeauth` and `pkg/websocket`). Every event the sandbox creates goes to
 * each open session as a `webhook_event`, signed with the listen secret (stable: derived from the
 * sandbox's webhook secret, so every `stripe listen` prints the same one, as Stripe's does); the CLI
 * acknowledges it, forwards it, and reports the endpoint's answer as a `webhook_response`.
 */
export class StripeCliHub {
  private readonly logger = new Logger('StripeSandbox');
  private readonly sessions = new Map<string, CliSession>();
  private readonly forwards: CliForward[] = [];
  private readonly wss = new WebSocketServer({ noServer: true, maxPayload: 1024 * 1024 });
  private closed = false;

  readonly secret: string;

  constructor(
    webhookSecret: string,
    private readonly now: () => number,
    private readonly baseUrl: () => string,
  ) {
    this.secret = `whsec_${createHmac('sha256', webhookSecret).update('stripe listen').digest('hex')}`;
  }

  /** `POST /v1/stripecli/sessions` */
  createSession(input: { deviceName: string; forwardUrl: string | null }): StripeCliSessionJson {
    this.forgetAbandoned();
    const session: CliSession = {
      id: newId.cliSession(),
      deviceName: input.deviceName,
      forwardUrl: input.forwardUrl,
      createdAt: this.now(),
      socket: null,
      disconnectedSince: this.now(),
      queue: [],
    };
    this.sessions.set(session.id, session);
    this.logger.log(`Stripe CLI session ${sessionLabel(session.id)} for ${input.deviceName}`);
    const url = new URL(CLI_WEBSOCKET_PATH, this.baseUrl());
    url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
    return {
      display_connect_filter_warning: false,
      reconnect_delay: RECONNECT_DELAY_SECONDS,
      secret: this.secret,
      websocket_authorized_feature: AUTHORIZED_FEATURE,
      websocket_id: session.id,
      websocket_url: url.toString(),
      default_version: ACCOUNT_API_VERSION,
      latest_version: Stripe.API_VERSION,
      device_token: alphanumeric(32),
    };
  }

  /** Serves the websocket on the sandbox's HTTP server. */
  attach(server: Server): void {
    server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      const url = new URL(req.url ?? '/', 'http://sandbox');
      if (url.pathname !== CLI_WEBSOCKET_PATH) return refuse(socket, 404, 'Unrecognized request URL.');
      const session = this.sessions.get(String(req.headers['websocket-id'] ?? ''));
      // The CLI re-authorizes when it reads exactly this message.
      if (!session || this.closed) return refuse(socket, 400, 'Unknown WebSocket ID.');
      if (url.searchParams.get('websocket_feature') !== AUTHORIZED_FEATURE) {
        return refuse(
          socket,
          400,
          `Unsupported websocket_feature; this session is authorized for ${AUTHORIZED_FEATURE}.`,
        );
      }
      this.wss.handleUpgrade(req, socket, head, (ws) => this.connected(session, ws));
    });
  }

  /** Sends the events one action created to every `stripe listen` session. */
  publish(events: EventRecord[]): void {
    if (this.closed) return;
    for (const session of this.sessions.values()) {
      for (const event of events) {
        if (session.socket?.readyState === WebSocket.OPEN) this.send(session, event);
        else if (session.queue.length < MAX_QUEUED) session.queue.push(event);
      }
    }
  }

  /**
   * Sessions and the events sent to them, with the CLI's reports (for `/_sandbox/stripe-cli`): no
   * websocket id and no signing secret (`stripe listen --print-secret` prints that, with the API key).
   */
  status() {
    return {
      sessions: [...this.sessions.values()].map((s) => ({
        session: sessionLabel(s.id),
        deviceName: s.deviceName,
        forwardUrl: s.forwardUrl,
        connected: s.socket?.readyState === WebSocket.OPEN,
        queued: s.queue.length,
      })),
      forwards: this.forwards,
    };
  }

  close(): void {
    this.closed = true;
    for (const session of this.sessions.values()) session.socket?.terminate();
    this.sessions.clear();
    this.wss.close();
  }

  private connected(session: CliSession, ws: WebSocket): void {
    session.socket?.terminate();
    session.socket = ws;
    session.disconnectedSince = null;
    this.logger.log(`Stripe CLI session ${sessionLabel(session.id)} connected`);
    ws.on('message', (data: RawData) => this.received(session, data));
    ws.on('close', () => {
      if (session.socket !== ws) return;
      session.socket = null;
      session.disconnectedSince = this.now();
      this.logger.log(`Stripe CLI session ${sessionLabel(session.id)} disconnected`);
    });
    ws.on('error', (error) =>
      this.logger.warn(`Stripe CLI session ${sessionLabel(session.id)}: ${error.message}`),
    );
    for (const event of session.queue.splice(0)) this.send(session, event);
  }

  private send(session: CliSession, event: EventRecord): void {
    const webhookConversationId = newId.webhookConversation();
    const message = {
      type: 'webhook_event',
      webhook_id: session.id,
      webhook_conversation_id: webhookConversationId,
      event_payload: event.body,
      http_headers: {
        'Content-Type': 'application/json; charset=utf-8',
        'User-Agent': 'Stripe/1.0 (+https://stripe.com/docs/webhooks)',
        'Cache-Control': 'no-cache',
        Accept: '*/*; q=0.5, application/xml',
        'Stripe-Signature': signatureHeader(event.body, this.secret, Math.floor(this.now() / 1000)),
      },
      // A set api_version makes the CLI drop the event (unless `--latest`): events go out as for
      // an endpoint of the account's default version (rendered in the pinned one, as all objects).
      endpoint: { api_version: null },
    };
    this.forwards.push({
      eventId: event.id,
      type: event.type,
      session: sessionLabel(session.id),
      webhookConversationId,
      sentAt: this.now(),
      acked: false,
      responses: [],
    });
    if (this.forwards.length > MAX_LOGGED_FORWARDS) this.forwards.shift();
    session.socket!.send(JSON.stringify(message));
  }

  private received(session: CliSession, data: RawData): void {
    let message: Partial<EventAck | WebhookResponse>;
    try {
      message = JSON.parse(rawText(data)) as Partial<EventAck | WebhookResponse>;
    } catch {
      this.logger.warn(`Stripe CLI session ${sessionLabel(session.id)} sent a malformed message`);
      return;
    }
    const forward = this.forwards.find(
      (f) =>
        f.session === sessionLabel(session.id) && f.webhookConversationId === message.webhook_conversation_id,
    );
    if (!forward) return;
    if (message.type === 'event_ack') {
      forward.acked = true;
    } else if (message.type === 'webhook_response' && typeof message.status === 'number') {
      const forwardUrl = String(message.forward_url ?? '');
      forward.responses.push({ status: message.status, forwardUrl, at: this.now() });
      this.logger.log(
        `Stripe CLI forwarded ${forward.eventId} (${forward.type}) to ${redactUrl(forwardUrl)}: ${message.status}`,
      );
    }
  }

  private forgetAbandoned(): void {
    const now = this.now();
    for (const [id, session] of this.sessions) {
      if (session.disconnectedSince !== null && now - session.disconnectedSince > ABANDONED_AFTER_MS) {
        this.sessions.delete(id);
      }
    }
  }
}

function rawText(data: RawData): string {
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  return Buffer.from(data as ArrayBuffer).toString('utf8');
}

/** The forward URL without its query string or credentials (they may carry secrets). */
function redactUrl(raw: string): string {
  try {
    const url = new URL(raw);
    return `${url.protocol}//${url.host}${url.pathname}`;
  } catch {
    return '(not a URL)';
  }
}

function refuse(socket: Duplex, status: number, message: string): void {
  const body = JSON.stringify({ error: { type: 'invalid_request_error', message } });
  socket.end(
    `HTTP/1.1 ${status} ${status === 404 ? 'Not Found' : 'Bad Request'}\r\n` +
      'Content-Type: application/json\r\n' +
      `Content-Length: ${Buffer.byteLength(body)}\r\n` +
      'Connection: close\r\n\r\n' +
      body,
  );
}
