import { createCipheriv, createDecipheriv, createHash, hkdfSync, randomBytes } from 'node:crypto';
import { EntityManager } from '@mikro-orm/postgresql';
import { Injectable } from '@nestjs/common';

/** How long a request may hold its key before another may take over (its process died). */
export const IN_FLIGHT_SECONDS = 30;

export interface StoredResponse {
  status: number;
  body: unknown;
}

export type Claim =
  | { kind: 'proceed' }
  | { kind: 'replay'; response: StoredResponse }
  | { kind: 'mismatch' }
  | { kind: 'in_flight' }
  | { kind: 'lost' };

interface Row {
  request_hash: string;
  status: 'in_flight' | 'done';
  response_status: number | null;
  response_body: Buffer | null;
  expired: boolean;
  effect_committed: boolean;
}

/**
 * Idempotency keys in PostgreSQL, so that every instance sees them. A row is found by the hash of
 * (scope, key): the key itself is never stored, and the stored response is encrypted with a key
 * derived from it, so the table alone replays nothing to anybody (responses hold access tokens).
 */
@Injectable()
export class IdempotencyStore {
  constructor(private readonly em: EntityManager) {}

  static keyHash(scope: string, key: string): string {
    return createHash('sha256').update(`${scope}\n${key}`, 'utf8').digest('hex');
  }

  /** Takes the key for this request, or says why not. */
  async claim(keyHash: string, requestHash: string, allowRetryAfterEffect: boolean): Promise<Claim> {
    const connection = this.em.getConnection();
    const inserted = await connection.execute<{ key_hash: string }[]>(
      `insert into idempotency_keys (key_hash, request_hash, status, locked_until, created_at)
       values (?, ?, 'in_flight', now() + (? * interval '1 second'), now())
       on conflict (key_hash) do nothing returning key_hash`,
      [keyHash, requestHash, IN_FLIGHT_SECONDS],
    );
    if (inserted.length === 1) return { kind: 'proceed' };
    const [row] = await connection.execute<Row[]>(
      `select request_hash, status, response_status, response_body, locked_until <= now() as expired,
              effect_committed_at is not null as effect_committed
         from idempotency_keys where key_hash = ?`,
      [keyHash],
    );
    if (!row) return this.claim(keyHash, requestHash, allowRetryAfterEffect); // released meanwhile
    if (row.request_hash !== requestHash) return { kind: 'mismatch' };
    if (row.status === 'done')
      return { kind: 'replay', response: { status: row.response_status!, body: row.response_body } };
    if (!row.expired) return { kind: 'in_flight' };
    if (row.effect_committed && !allowRetryAfterEffect) return { kind: 'lost' };
    // Its process died before the effect (or the effect may safely run again): take it over.
    const taken = await connection.execute<{ key_hash: string }[]>(
      `update idempotency_keys set locked_until = now() + (? * interval '1 second'), effect_committed_at = null
        where key_hash = ? and status = 'in_flight' and locked_until <= now() returning key_hash`,
      [IN_FLIGHT_SECONDS, keyHash],
    );
    return taken.length === 1 ? { kind: 'proceed' } : { kind: 'in_flight' };
  }

  /** Keeps the response for replays. */
  async complete(keyHash: string, key: string, response: StoredResponse): Promise<void> {
    await this.em.getConnection().execute(
      `update idempotency_keys set status = 'done', response_status = ?, response_body = ?, locked_until = null
          where key_hash = ?`,
      [response.status, seal(key, keyHash, response.body), keyHash],
    );
  }

  /** Forgets the key (the request did not take effect, or may be tried again): a retry runs anew. */
  async release(keyHash: string): Promise<void> {
    await this.em
      .getConnection()
      .execute(`delete from idempotency_keys where key_hash = ? and status = 'in_flight'`, [keyHash]);
  }

  /** The stored body, decrypted with the key the client presented. */
  static open(key: string, keyHash: string, sealed: Buffer): unknown {
    const iv = sealed.subarray(0, 12);
    const tag = sealed.subarray(12, 28);
    const decipher = createDecipheriv('aes-256-gcm', derive(key, keyHash), iv);
    decipher.setAuthTag(tag);
    const text = Buffer.concat([decipher.update(sealed.subarray(28)), decipher.final()]).toString('utf8');
    return text === '' ? undefined : (JSON.parse(text) as unknown);
  }
}

function derive(key: string, keyHash: string): Buffer {
  return Buffer.from(
    hkdfSync('sha256', Buffer.from(key, 'utf8'), Buffer.from(keyHash, 'hex'), 'idempotent-response', 32),
  );
}

function seal(key: string, keyHash: string, body: unknown): Buffer {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', derive(key, keyHash), iv);
  const text = body === undefined ? '' : JSON.stringify(body);
  const encrypted = Buffer.concat([cipher.update(text, 'utf8'), cipher.final()]);
  return Buffer.concat([iv, cipher.getAuthTag(), encrypted]);
}
