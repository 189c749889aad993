import { Entity, Index, ManyToOne, PrimaryKey, Property } from '@mikro-orm/core';
import type { StaffMember } from './staff-member.entity';

/**
 * A logged-in browser. The cookie holds a random token; only its SHA-256 is stored (the primary
 * key), with the SHA-256 of the session's CSRF token. Ends at `expiresAt`, after `IDLE` without
 * use, or at logout (the row is deleted).
 */
@Entity({ tableName: 'staff_sessions' })
@Index({ properties: ['expiresAt'] })
export class StaffSession {
  @PrimaryKey({ type: 'string', length: 64 })
  readonly tokenHash: string;

  @ManyToOne({ entity: 'StaffMember', deleteRule: 'cascade' })
  readonly member: StaffMember;

  @Property({ type: 'string', length: 64 })
  readonly csrfHash: string;

  @Property({ type: 'datetime' })
  readonly createdAt: Date;

  @Property({ type: 'datetime' })
  lastSeenAt: Date;

  @Property({ type: 'datetime' })
  readonly expiresAt: Date;

  constructor(member: StaffMember, tokenHash: string, csrfHash: string, now: Date, expiresAt: Date) {
    this.member = member;
    this.tokenHash = tokenHash;
    this.csrfHash = csrfHash;
    this.createdAt = now;
    this.lastSeenAt = now;
    this.expiresAt = expiresAt;
  }
}
