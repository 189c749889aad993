import { BigIntType, Entity, Index, PrimaryKey, Property } from '@mikro-orm/core';

/** How the actor was authenticated. */
export type AuditChannel = 'session' | 'token' | 'cli';

/**
 * One staff action: who, what, on what, when, and the state before and after. Append-only; written
 * in the same transaction as the action, so an action that rolled back leaves no entry and one that
 * committed always has one. Never holds a password, a token or a card detail.
 */
@Entity({ tableName: 'audit_log' })
@Index({ properties: ['occurredAt'] })
@Index({ properties: ['action', 'occurredAt'] })
@Index({ properties: ['targetType', 'targetId'] })
export class AuditLogEntry {
  @PrimaryKey({ type: new BigIntType('number'), autoincrement: true })
  readonly id!: number;

  /** Null for what nobody authenticated did (a failed login). */
  @Property({ type: 'uuid', nullable: true })
  readonly actorId: string | null;

  /** As typed at a failed login; the member's e-mail otherwise. */
  @Property({ type: 'string', length: 254, nullable: true })
  readonly actorEmail: string | null;

  @Property({ type: 'string', length: 16 })
  readonly channel: AuditChannel;

  /** `session.login`, `refund.create`, `review.resolve`, `webhook_event.replay`, … */
  @Property({ type: 'string', length: 64 })
  readonly action: string;

  @Property({ type: 'string', length: 32, nullable: true })
  readonly targetType: string | null;

  @Property({ type: 'string', length: 255, nullable: true })
  readonly targetId: string | null;

  @Property({ type: 'json', nullable: true })
  readonly before: Record<string, unknown> | null;

  @Property({ type: 'json', nullable: true })
  readonly after: Record<string, unknown> | null;

  @Property({ type: 'string', length: 64, nullable: true })
  readonly ip: string | null;

  @Property({ type: 'string', length: 64, nullable: true })
  readonly requestId: string | null;

  @Property({ type: 'datetime' })
  readonly occurredAt: Date;

  constructor(fields: Omit<AuditLogEntry, 'id'>) {
    this.actorId = fields.actorId;
    this.actorEmail = fields.actorEmail;
    this.channel = fields.channel;
    this.action = fields.action;
    this.targetType = fields.targetType;
    this.targetId = fields.targetId;
    this.before = fields.before;
    this.after = fields.after;
    this.ip = fields.ip;
    this.requestId = fields.requestId;
    this.occurredAt = fields.occurredAt;
  }
}
