import { Entity, Enum, PrimaryKey, Property, Unique } from '@mikro-orm/core';

/**
 * A domain event an aggregate recorded, written in the transaction that made the change (only when
 * some durable subscriber listens to it). Its id is what consumers are idempotent by.
 */
@Entity({ tableName: 'outbox_events' })
export class OutboxEvent {
  @PrimaryKey({ type: 'uuid' })
  readonly id!: string;

  /** The event's name (`orders.paid`). */
  @Property({ type: 'string', length: 128 })
  readonly name!: string;

  @Property({ type: 'json' })
  readonly payload!: unknown;

  @Property({ type: 'datetime' })
  readonly createdAt!: Date;
}

export enum DeliveryStatus {
  /** Waiting for its first try or its next retry. */
  Pending = 'pending',
  Delivered = 'delivered',
  /** Failed on every try of the retry schedule: a person looks at it (and may retry it). */
  Dead = 'dead',
}

/**
 * One event for one durable subscriber: a failing subscriber retries on its own, without running
 * the others again.
 */
@Entity({ tableName: 'outbox_deliveries' })
@Unique({ properties: ['eventId', 'subscriber'] })
export class OutboxDelivery {
  @PrimaryKey({ type: 'bigint', autoincrement: true })
  readonly id!: string;

  @Property({ type: 'uuid' })
  readonly eventId!: string;

  @Property({ type: 'string', length: 100 })
  readonly subscriber!: string;

  @Enum({ items: () => DeliveryStatus })
  readonly status!: DeliveryStatus;

  /** Tries so far (claimed deliveries count theirs). */
  @Property({ type: 'integer' })
  readonly attempts!: number;

  @Property({ type: 'datetime' })
  readonly nextAttemptAt!: Date;

  /** Reserved by an instance until then; after it (a crash), any instance may claim it again. */
  @Property({ type: 'datetime', nullable: true })
  readonly lockedUntil!: Date | null;

  /** The last failure's message (the error class and message, never a payload). */
  @Property({ type: 'text', nullable: true })
  readonly lastError!: string | null;

  @Property({ type: 'datetime' })
  readonly createdAt!: Date;

  @Property({ type: 'datetime', nullable: true })
  readonly deliveredAt!: Date | null;
}
