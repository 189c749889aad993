/** PostgreSQL error classes that mean "not now", not "wrong request": connection, resources, timeouts. */
const TRANSIENT_SQLSTATE = [
  /^08/, // connection exception
  /^53/, // insufficient resources (too many connections, disk full)
  /^57P0[1-4]$/, // shut down, cannot connect now
  /^57014$/, // statement timeout (query canceled)
  /^55P03$/, // lock timeout
  /^40001$/, // serialization failure
  /^40P01$/, // deadlock
];

const TRANSIENT_NETWORK = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'EAI_AGAIN',
]);

const TRANSIENT_MESSAGE = [
  // MikroORM prefixes the driver's message with the statement: match the end.
  /Query read timeout$/, // pg's client-side query_timeout: the server did not answer
  /Connection terminated( unexpectedly| due to connection timeout)?$/, // pg: lost, or connectionTimeoutMillis
  /timeout expired$/,
  /Knex: Timeout acquiring a connection/, // the pool is exhausted or cannot connect
  /Client has encountered a connection error and is not queryable$/,
  /Connection ended unexpectedly$/,
  // knex, after the transaction's BEGIN itself failed on a lost or silent connection
  /Transaction query already complete/,
];

/**
 * True when `error` (or what it wraps) says the database cannot be reached or cannot serve right
 * now: the request may succeed later, so it is a 503, not a 500.
 */
export function isDatabaseUnavailable(error: unknown, depth = 0): boolean {
  if (!error || typeof error !== 'object' || depth > 5) return false;
  const { code, message, name, cause, previous } = error as Record<string, unknown>;
  if (name === 'KnexTimeoutError' || name === 'ConnectionException') return true;
  if (
    typeof code === 'string' &&
    (TRANSIENT_NETWORK.has(code) || TRANSIENT_SQLSTATE.some((re) => re.test(code)))
  ) {
    return true;
  }
  if (typeof message === 'string' && TRANSIENT_MESSAGE.some((re) => re.test(message))) return true;
  return isDatabaseUnavailable(cause, depth + 1) || isDatabaseUnavailable(previous, depth + 1);
}
