import { createHash, randomBytes } from 'node:crypto';

/** An unguessable secret (256 bits), with a prefix that says what it is when it turns up in a log. */
export function newSecret(prefix: string): string {
  return `${prefix}${randomBytes(32).toString('base64url')}`;
}

/** Secrets are stored as their SHA-256 only: high-entropy, so a fast hash is enough. */
export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex');
}
