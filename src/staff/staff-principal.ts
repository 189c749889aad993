import type { AuditChannel } from './audit-log-entry.entity';
import type { StaffRole } from './staff-role';

/** Who is calling the staff API, as the guard established it, and from where. */
export interface StaffPrincipal {
  memberId: string;
  email: string;
  role: StaffRole;
  channel: AuditChannel;
  /** The session's key (SHA-256 of its cookie), for logout. */
  sessionHash?: string;
  ip: string | null;
  requestId: string | null;
}
