import { randomUUID } from 'node:crypto';
import { Entity, ManyToOne, PrimaryKey, Property } from '@mikro-orm/core';
import type { StaffMember } from './staff-member.entity';

/**
 * A token for scripts (`Authorization: Bearer pfs_…`), acting as its staff member with their role.
 * Printed once by `npm run staff:token`; only its SHA-256 is stored.
 */
@Entity({ tableName: 'staff_api_tokens' })
export class StaffApiToken {
  @PrimaryKey({ type: 'uuid' })
  readonly id: string = randomUUID();

  @ManyToOne({ entity: 'StaffMember', deleteRule: 'cascade' })
  readonly member: StaffMember;

  @Property({ type: 'string', length: 64, unique: true })
  readonly tokenHash: string;

  @Property({ type: 'datetime' })
  readonly createdAt: Date = new Date();

  @Property({ type: 'datetime', nullable: true })
  lastUsedAt: Date | null = null;

  @Property({ type: 'datetime', nullable: true })
  revokedAt: Date | null = null;

  constructor(member: StaffMember, tokenHash: string) {
    this.member = member;
    this.tokenHash = tokenHash;
  }
}
