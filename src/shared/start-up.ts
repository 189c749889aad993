import type { AppConfig } from '../config';
import { redactUrl } from './redact-url';

/** A port the service (or its sandbox) cannot listen on: one line, naming the variable to change. */
export class PortInUseError extends Error {
  override readonly name = 'PortInUseError';

  constructor(variable: 'PORT' | 'SANDBOX_PORT', port: number, hint = '') {
    super(
      `Port ${port} (${variable}) is already in use: stop what listens there, or set ${variable} to a free port.${hint}`,
    );
  }
}

/** What to print when the start fails: one line for what a person can fix, the error otherwise. */
export function startFailure(error: unknown): unknown {
  if (error instanceof PortInUseError) return error.message;
  const { code, port } = (error ?? {}) as { code?: unknown; port?: unknown };
  if (code === 'EADDRINUSE' && typeof port === 'number') return new PortInUseError('PORT', port).message;
  return error;
}

/** Where everything is, for the person who just started the service. */
export function startBanner(config: AppConfig): string {
  const shop = config.publicUrl;
  const sandbox = config.sandbox.publicUrl ?? `http://127.0.0.1:${config.sandbox.port}`;
  const database =
    config.database.kind === 'postgresql'
      ? `PostgreSQL ${redactUrl(config.database.url)}`
      : `embedded PGlite in ${config.database.dataDir}`;
  const stripe = config.sandbox.enabled
    ? `offline sandbox ${sandbox}/ (test card 4242 4242 4242 4242; receipts ${sandbox}/mailbox)`
    : `Stripe API (${config.stripe.secretKey.startsWith('sk_live_') ? 'live' : 'test'} mode)`;
  return [
    `Payment flow service ready on port ${config.port}`,
    `  shop      ${shop}/`,
    `  API docs  ${shop}/api/docs`,
    `  Stripe    ${stripe}`,
    `  database  ${database}`,
  ].join('\n');
}
