import { randomUUID } from 'node:crypto';
import { Entity, Enum, PrimaryKey, Property } from '@mikro-orm/core';
import { StaffRole } from './staff-role';

/** A person who runs the shop. Created by `npm run staff:add`; the password is kept as a scrypt hash. */
@Entity({ tableName: 'staff_members' })
export class StaffMember {
  @PrimaryKey({ type: 'uuid' })
  readonly id: string = randomUUID();

  @Property({ type: 'string', length: 254, unique: true })
  readonly email: string;

  @Enum({ items: () => StaffRole })
  role: StaffRole;

  @Property({ type: 'text', hidden: true })
  passwordHash: string;

  /** A disabled member can neither log in nor use a token; their sessions stop working at once. */
  @Property({ type: 'datetime', nullable: true })
  disabledAt: Date | null = null;

  @Property({ type: 'datetime' })
  readonly createdAt: Date = new Date();

  constructor(email: string, role: StaffRole, passwordHash: string) {
    this.email = normalizeEmail(email);
    this.role = role;
    this.passwordHash = passwordHash;
  }
}

export function normalizeEmail(email: string): string {
  return email.trim().toLowerCase();
}
