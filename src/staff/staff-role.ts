/**
 * What a staff member may do. Each role includes the ones before it: `viewer` reads, `operator` also
 * refunds, resolves review items and replays webhook events, `admin` also manages staff and reads
 * the audit log.
 */
export enum StaffRole {
  Viewer = 'viewer',
  Operator = 'operator',
  Admin = 'admin',
}

const RANK: Record<StaffRole, number> = { viewer: 0, operator: 1, admin: 2 };

export function roleAllows(held: StaffRole, needed: StaffRole): boolean {
  return RANK[held] >= RANK[needed];
}

export function isStaffRole(value: unknown): value is StaffRole {
  return typeof value === 'string' && Object.values<string>(StaffRole).includes(value);
}
