import request from 'supertest';
import { createTestApp, type TestApp } from '../support/app';
import { countRows, truncateAll } from '../support/db';
import { placeOrder } from '../support/factories';
import {
  addStaff,
  asStaff,
  auditRows,
  issueToken,
  login,
  STAFF_PASSWORD,
  type StaffLogin,
} from '../support/staff';

/**
 * Who may call the staff API. Every route under /api/admin refuses a caller without a session, a
 * role below the route's, a session without its CSRF token on a change, and a customer's order token;
 * each refusal changes nothing. The audit log holds what staff did.
 */
describe('Staff API access', () => {
  let t: TestApp;
  const sessions: Record<'viewer' | 'operator' | 'admin', StaffLogin> = {} as never;
  let orderId: string;
  let customerToken: string;

  // Staff and their sessions are made once (scrypt is slow by design); tests that log out or fail
  // logins use members of their own.
  beforeAll(async () => {
    t = await createTestApp();
    await truncateAll(t.orm);
    for (const role of ['viewer', 'operator', 'admin'] as const) {
      await addStaff(t, `${role}@shop.test`, role);
      sessions[role] = await login(t, `${role}@shop.test`);
    }
    const order = await placeOrder(t);
    orderId = order.id;
    customerToken = order.accessToken;
  });
  afterAll(() => t.close());

  const ROLES = ['viewer', 'operator', 'admin'] as const;
  type Role = (typeof ROLES)[number];
  interface Route {
    method: 'get' | 'post' | 'delete';
    /** As documented; `{order}` is an order's id, `{event}` a ledger event's. */
    template: string;
    role: Role;
    body?: object;
  }
  const routes: Route[] = [
    { method: 'get', template: '/api/admin/session', role: 'viewer' },
    { method: 'delete', template: '/api/admin/session', role: 'viewer' },
    { method: 'get', template: '/api/admin/orders', role: 'viewer' },
    { method: 'get', template: '/api/admin/orders/export.csv', role: 'viewer' },
    { method: 'get', template: '/api/admin/orders/{order}', role: 'viewer' },
    {
      method: 'post',
      template: '/api/admin/orders/{order}/refunds',
      role: 'operator',
      body: { amount: 100, reason: 'test' },
    },
    { method: 'get', template: '/api/admin/webhook-events', role: 'viewer' },
    { method: 'post', template: '/api/admin/webhook-events/{event}/replay', role: 'operator' },
    { method: 'get', template: '/api/admin/audit', role: 'admin' },
    { method: 'get', template: '/api/admin/reviews', role: 'viewer' },
    {
      method: 'post',
      template: '/api/admin/reviews/{review}/resolve',
      role: 'operator',
      body: { note: 'checked' },
    },
    { method: 'get', template: '/api/admin/dashboard', role: 'viewer' },
  ];
  const pathOf = (route: Route) =>
    route.template
      .replace('{order}', orderId)
      .replace('{event}', 'evt_123')
      .replace('{review}', '0b5e7d8c-3f1a-4c2b-9d6e-5a4b3c2d1e0f');
  const name = (route: Route) => `${route.method.toUpperCase()} ${route.template}`;

  it('lists every /api/admin route of the OpenAPI document, each with its security schemes', async () => {
    const { body } = await request(t.http()).get('/api/docs-json').expect(200);
    const documented = Object.entries(body.paths as Record<string, Record<string, { security?: unknown[] }>>)
      .filter(([path]) => path.startsWith('/api/admin/') && path !== '/api/admin/session')
      .flatMap(([path, operations]) =>
        Object.keys(operations).map((method) => `${method.toUpperCase()} ${path}`),
      );
    const tested = routes
      .filter((route) => route.template !== '/api/admin/session')
      .map((route) => `${route.method.toUpperCase()} ${route.template.replace(/\{\w+\}/, '{id}')}`);
    expect(new Set(documented)).toEqual(new Set(tested));
    expect(body.components.securitySchemes).toMatchObject({
      'staff-token': { type: 'http', scheme: 'bearer' },
      'staff-session': { type: 'apiKey', in: 'cookie', name: 'payflow_staff' },
      'staff-csrf': { type: 'apiKey', in: 'header', name: 'X-CSRF-Token' },
    });
    expect(body.paths['/api/admin/orders'].get.security).toEqual([
      { 'staff-token': [] },
      { 'staff-session': [], 'staff-csrf': [] },
    ]);
  });

  describe.each(routes.map((route) => [name(route), route] as const))('%s', (_name, route) => {
    const send = (call: request.Test) => (route.body ? call.send(route.body) : call);
    const refundsBefore = () => countRows(t.orm, 'refunds');

    it('refuses a caller without a session (401)', async () => {
      const response = await send(request(t.http())[route.method](pathOf(route))).expect(401);
      expect(response.body).toMatchObject({ statusCode: 401, message: 'Log in first' });
    });

    it("refuses a customer's order token (401)", async () => {
      const response = await send(
        request(t.http())[route.method](pathOf(route)).set('Authorization', `Bearer ${customerToken}`),
      ).expect(401);
      expect(response.body.message).toBe('Not a staff API token');
    });

    it('refuses a session cookie that is not one of ours (401)', async () => {
      await send(
        request(t.http())
          [route.method](pathOf(route))
          .set('Cookie', 'payflow_staff=pss_forged; payflow_staff_csrf=x'),
      ).expect(401);
    });

    const below = ROLES.slice(0, ROLES.indexOf(route.role));
    if (below.length > 0) {
      it.each(below)('refuses the %s role (403), for a session and for an API token', async (role) => {
        const before = await refundsBefore();
        const response = await send(asStaff(t, sessions[role], route.method, pathOf(route))).expect(403);
        expect(response.body.message).toBe(`This needs the ${route.role} role`);
        const token = await issueToken(t, `${role}@shop.test`);
        await send(
          request(t.http())[route.method](pathOf(route)).set('Authorization', `Bearer ${token}`),
        ).expect(403);
        expect(await refundsBefore()).toBe(before);
      });
    }

    if (route.method !== 'get') {
      it('refuses a session without its CSRF token, or with another session’s (403)', async () => {
        const session = sessions[route.role];
        const bare = request(t.http())[route.method](pathOf(route)).set('Cookie', session.cookie);
        expect((await send(bare).expect(403)).body.message).toMatch(/CSRF/);
        const other = sessions[route.role === 'admin' ? 'operator' : 'admin'];
        const crossed = request(t.http())
          [route.method](pathOf(route))
          .set('Cookie', session.cookie)
          .set('X-CSRF-Token', other.csrf);
        await send(crossed).expect(403);
        // The session itself still works: refusals do not log anyone out.
        await asStaff(t, session, 'get', '/api/admin/session').expect(200);
      });
    }

    it('admits the role it needs', async () => {
      // Logging out ends the session: that one uses a session of its own.
      const session =
        route.method === 'delete' ? await login(t, `${route.role}@shop.test`) : sessions[route.role];
      const response = await send(asStaff(t, session, route.method, pathOf(route)));
      expect([401, 403]).not.toContain(response.status);
    });
  });

  describe('login', () => {
    it('sets an HttpOnly, SameSite=Strict session cookie and a CSRF token; the server keeps only hashes', async () => {
      const session = sessions.operator;
      const sessionCookie = session.setCookie.find((line) => line.startsWith('payflow_staff='))!;
      expect(sessionCookie).toMatch(/; HttpOnly/);
      expect(sessionCookie).toMatch(/; SameSite=Strict/);
      expect(sessionCookie).toMatch(/; Path=\//);
      const csrfCookie = session.setCookie.find((line) => line.startsWith('payflow_staff_csrf='))!;
      expect(csrfCookie).not.toMatch(/HttpOnly/);
      expect(csrfCookie).toContain(session.csrf);

      const rawToken = /payflow_staff=([^;]+)/.exec(session.cookie)![1];
      const stored = await t.em().getConnection().execute('select * from staff_sessions');
      expect(JSON.stringify(stored)).not.toContain(rawToken);
      expect(JSON.stringify(stored)).not.toContain(session.csrf);
      const [member] = await t
        .em()
        .getConnection()
        .execute<{ password_hash: string }[]>(
          "select password_hash from staff_members where email = 'operator@shop.test'",
        );
      expect(member.password_hash).toMatch(/^scrypt\$32768\$8\$1\$/);
      expect(member.password_hash).not.toContain(STAFF_PASSWORD);

      await asStaff(t, session, 'get', '/api/admin/session')
        .expect(200)
        .expect((res) =>
          expect(res.body).toEqual({ id: expect.any(String), email: 'operator@shop.test', role: 'operator' }),
        );
    });

    it('answers a wrong password and an unknown e-mail alike (401), and writes both to the audit log', async () => {
      const wrong = await request(t.http())
        .post('/api/admin/session')
        .send({ email: 'operator@shop.test', password: 'not the password' })
        .expect(401);
      const unknown = await request(t.http())
        .post('/api/admin/session')
        .send({ email: 'nobody@shop.test', password: STAFF_PASSWORD })
        .expect(401);
      expect(wrong.body.message).toBe(unknown.body.message);
      expect(wrong.headers['set-cookie']).toBeUndefined();
      const failures = (await auditRows(t)).filter((row) => row.action === 'session.login_failed').slice(-2);
      expect(failures.map((row) => row.actor_email)).toEqual(['operator@shop.test', 'nobody@shop.test']);
      expect(JSON.stringify(failures)).not.toContain('not the password');
    });

    it('refuses a malformed login (400) without writing anything', async () => {
      const before = await countRows(t.orm, 'audit_log');
      await request(t.http())
        .post('/api/admin/session')
        .send({ email: 'not-an-email', password: 'x' })
        .expect(400);
      await request(t.http()).post('/api/admin/session').send({ email: 'viewer@shop.test' }).expect(400);
      expect(await countRows(t.orm, 'audit_log')).toBe(before);
    });

    it('is rate-limited: after 5 failures for an e-mail, even the right password gets 429 for a while', async () => {
      await addStaff(t, 'target@shop.test', 'admin');
      for (let i = 0; i < 5; i++) {
        await request(t.http())
          .post('/api/admin/session')
          .send({ email: 'target@shop.test', password: `guess number ${i}` })
          .expect(401);
      }
      const refused = await request(t.http())
        .post('/api/admin/session')
        .send({ email: 'target@shop.test', password: STAFF_PASSWORD })
        .expect(429);
      expect(refused.headers['retry-after']).toBe('900');
      expect(refused.headers['set-cookie']).toBeUndefined();
      // Another account is not locked out by them.
      await login(t, 'operator@shop.test');
      expect((await auditRows(t)).map((row) => row.action)).toContain('session.login_refused');
    });

    it('logs out: the session is deleted on the server and its cookie no longer works', async () => {
      const session = await login(t, 'viewer@shop.test');
      const before = await countRows(t.orm, 'staff_sessions');
      const out = await asStaff(t, session, 'delete', '/api/admin/session').expect(204);
      expect(String(out.headers['set-cookie'])).toMatch(/payflow_staff=;/);
      await asStaff(t, session, 'get', '/api/admin/session').expect(401);
      expect(await countRows(t.orm, 'staff_sessions')).toBe(before - 1);
      await asStaff(t, sessions.viewer, 'get', '/api/admin/session').expect(200);
    });
  });

  describe('API tokens', () => {
    it('act as their member without a CSRF token; only their hash is stored', async () => {
      const token = await issueToken(t, 'operator@shop.test');
      expect(token).toMatch(/^pfs_[\w-]{43}$/);
      await request(t.http())
        .post(`/api/admin/orders/${orderId}/refunds`)
        .set('Authorization', `Bearer ${token}`)
        .send({ reason: 'nothing paid yet' })
        .expect((res) => expect(res.body).toMatchObject({ statusCode: 409 }));
      const stored = await t.em().getConnection().execute('select * from staff_api_tokens');
      expect(JSON.stringify(stored)).not.toContain(token);
      const refused = (await auditRows(t)).filter((row) => row.action === 'refund.refused').at(-1);
      expect(refused).toMatchObject({
        actor_email: 'operator@shop.test',
        channel: 'token',
        target_type: 'order',
        target_id: orderId,
        after: { error: 'REFUNDS.NOT_REFUNDABLE' },
      });
    });

    it('are refused once unknown (a token for another service, a revoked one)', async () => {
      await request(t.http())
        .get('/api/admin/orders')
        .set('Authorization', 'Bearer pfs_thisTokenWasNeverIssuedByUs0000000000000000')
        .expect(401);
    });
  });

  it('the audit log holds logins, logouts and actions, newest first, for admins', async () => {
    await asStaff(t, sessions.operator, 'post', '/api/admin/webhook-events/evt_unknown/replay').expect(
      (res) => expect(res.status).toBeGreaterThanOrEqual(400),
    );
    await asStaff(t, await login(t, 'viewer@shop.test'), 'delete', '/api/admin/session').expect(204);
    const response = await asStaff(t, sessions.admin, 'get', '/api/admin/audit?limit=200').expect(200);
    const body = response.body as { items: { action: string }[] };
    expect(body.items.map((row) => row.action).slice(0, 3)).toEqual([
      'session.logout',
      'session.login',
      'webhook_event.replay_refused',
    ]);
    expect(body.items[0]).toMatchObject({
      actorEmail: 'viewer@shop.test',
      channel: 'session',
      targetType: 'staff_member',
      occurredAt: expect.any(String),
    });
    expect(body.items[2]).toMatchObject({ actorEmail: 'operator@shop.test', targetId: 'evt_unknown' });
    expect(body.items.filter((row) => row.action === 'staff.add')).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          channel: 'cli',
          actorId: null,
          after: { email: 'admin@shop.test', role: 'admin' },
        }),
      ]),
    );

    const firstPage = await asStaff(t, sessions.admin, 'get', '/api/admin/audit?limit=2').expect(200);
    const secondPage = await asStaff(
      t,
      sessions.admin,
      'get',
      `/api/admin/audit?limit=2&cursor=${firstPage.body.nextCursor}`,
    ).expect(200);
    expect(secondPage.body.items[0].id).toBeLessThan(firstPage.body.items[1].id);
  });
});
