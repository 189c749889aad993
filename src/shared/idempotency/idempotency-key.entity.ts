import { Entity, PrimaryKey, Property } from '@mikro-orm/core';

/** Read-only mapping of `idempotency_keys` (written with SQL by `IdempotencyStore`). */
@Entity({ tableName: 'idempotency_keys' })
export class IdempotencyKey {
  @PrimaryKey({ type: 'string', length: 64, columnType: 'char(64)' })
  readonly keyHash!: string;

  @Property({ type: 'string', length: 64, columnType: 'char(64)' })
  readonly requestHash!: string;

  @Property({ type: 'text' })
  readonly status!: 'in_flight' | 'done';

  @Property({ type: 'smallint', nullable: true })
  readonly responseStatus!: number | null;

  @Property({ type: 'blob', nullable: true, lazy: true })
  readonly responseBody!: Buffer | null;

  @Property({ type: 'datetime', nullable: true })
  readonly lockedUntil!: Date | null;

  @Property({ type: 'datetime', nullable: true })
  readonly effectCommittedAt!: Date | null;

  @Property({ type: 'datetime' })
  readonly createdAt!: Date;
}
