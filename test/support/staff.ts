import request from 'supertest';
import { StaffAuthService } from '../../src/staff/staff-auth.service';
import type { StaffRole } from '../../src/staff/staff-role';
import type { TestApp } from './app';

export const STAFF_PASSWORD = 'correct horse battery staple';

/** A staff member created as `npm run staff:add` does, through the service the command uses. */
export async function addStaff(t: TestApp, email: string, role: `${StaffRole}`): Promise<void> {
  await t.app.get(StaffAuthService).addMember(email, role as StaffRole, STAFF_PASSWORD);
}

export function issueToken(t: TestApp, email: string): Promise<string> {
  return t.app.get(StaffAuthService).issueToken(email);
}

export interface StaffLogin {
  /** The `Cookie` header a browser would send back. */
  cookie: string;
  csrf: string;
  setCookie: string[];
}

/** Logs in through the API and returns what a browser would keep. */
export async function login(t: TestApp, email: string, password = STAFF_PASSWORD): Promise<StaffLogin> {
  const response = await request(t.http()).post('/api/admin/session').send({ email, password }).expect(204);
  const setCookie = ([] as string[]).concat(response.headers['set-cookie'] ?? []);
  return {
    cookie: setCookie.map((line) => line.split(';')[0]).join('; '),
    csrf: String(response.headers['x-csrf-token']),
    setCookie,
  };
}

type Method = 'get' | 'post' | 'delete';

/** A request as the console sends it: the session cookie, and the CSRF header on changes. */
export function asStaff(t: TestApp, session: StaffLogin, method: Method, path: string) {
  const call = request(t.http())[method](path).set('Cookie', session.cookie);
  return method === 'get' ? call : call.set('X-CSRF-Token', session.csrf);
}

/** Rows of the audit log, oldest first. */
export function auditRows(t: TestApp): Promise<
  {
    actor_email: string | null;
    channel: string;
    action: string;
    target_type: string | null;
    target_id: string | null;
    before: Record<string, unknown> | null;
    after: Record<string, unknown> | null;
  }[]
> {
  return t
    .em()
    .getConnection()
    .execute(
      'select actor_email, channel, action, target_type, target_id, before, after from audit_log order by id',
    );
}
