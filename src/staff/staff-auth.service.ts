import { EntityManager } from '@mikro-orm/postgresql';
import { Injectable } from '@nestjs/common';
import { type AuditActor, AuditService } from './audit.service';
import { decoyHash, hashPassword, passwordProblem, verifyPassword } from './password';
import { hashSecret, newSecret } from './secret-token';
import { StaffApiToken } from './staff-api-token.entity';
import { normalizeEmail, StaffMember } from './staff-member.entity';
import type { StaffPrincipal } from './staff-principal';
import { StaffSession } from './staff-session.entity';
import { StaffMemberExistsError, StaffMemberNotFoundError, WeakPasswordError } from './staff.errors';
import type { StaffRole } from './staff-role';

const CLI: AuditActor = { channel: 'cli' };

/** A session lasts at most this long, and ends sooner after `SESSION_IDLE_MS` without a request. */
export const SESSION_MAX_AGE_MS = 12 * 3600_000;
export const SESSION_IDLE_MS = 30 * 60_000;
/** `lastSeenAt` is written at most this often (not on every request). */
const TOUCH_EVERY_MS = 60_000;

/** Failed logins counted over this window: per e-mail and per client address. */
export const LOGIN_WINDOW_MS = 15 * 60_000;
export const LOGIN_FAILURES_PER_EMAIL = 5;
export const LOGIN_FAILURES_PER_ADDRESS = 20;

export const API_TOKEN_PREFIX = 'pfs_';
const SESSION_PREFIX = 'pss_';
const CSRF_PREFIX = 'psc_';

export interface RequestContext {
  ip: string | null;
  requestId: string | null;
}

export type LoginResult =
  | { ok: true; sessionToken: string; csrfToken: string; expiresAt: Date; principal: StaffPrincipal }
  | { ok: false; reason: 'invalid' | 'rate_limited' };

/**
 * Staff accounts, sessions and API tokens. Passwords are scrypt hashes; session and API tokens are
 * random and stored as SHA-256. Lookups by token hash are by primary or unique key.
 */
@Injectable()
export class StaffAuthService {
  constructor(
    private readonly em: EntityManager,
    private readonly audit: AuditService,
  ) {}

  async addMember(email: string, role: StaffRole, password: string): Promise<StaffMember> {
    const problem = passwordProblem(password);
    if (problem) throw new WeakPasswordError(problem);
    const member = new StaffMember(email, role, await hashPassword(password));
    return this.em.transactional(async (em) => {
      if (await em.findOne(StaffMember, { email: member.email })) throw new StaffMemberExistsError();
      em.persist(member);
      this.audit.within(em, CLI, {
        action: 'staff.add',
        target: { type: 'staff_member', id: member.id },
        after: { email: member.email, role },
      });
      return member;
    });
  }

  /** A new API token for the member; the token itself is returned here only. */
  async issueToken(email: string): Promise<string> {
    const token = newSecret(API_TOKEN_PREFIX);
    await this.em.transactional(async (em) => {
      const member = await em.findOne(StaffMember, { email: normalizeEmail(email), disabledAt: null });
      if (!member) throw new StaffMemberNotFoundError();
      const row = new StaffApiToken(member, hashSecret(token));
      em.persist(row);
      this.audit.within(em, CLI, {
        action: 'api_token.issue',
        target: { type: 'api_token', id: row.id },
        after: { memberId: member.id, email: member.email },
      });
    });
    return token;
  }

  /**
   * Checks the password (in the same time whether or not the e-mail exists) unless the e-mail or the
   * address has failed too often lately; every failure is written to the audit log, which is also
   * what the limit counts, across instances.
   */
  async login(email: string, password: string, context: RequestContext): Promise<LoginResult> {
    const typed = normalizeEmail(email);
    if (await this.tooManyFailures(typed, context.ip)) {
      await this.audit.anonymous(typed, 'session.login_refused', context, { reason: 'rate_limited' });
      return { ok: false, reason: 'rate_limited' };
    }
    const member = await this.em.fork().findOne(StaffMember, { email: typed });
    const valid = await verifyPassword(password, member?.passwordHash ?? (await decoyHash()));
    if (!member || !valid || member.disabledAt) {
      await this.audit.anonymous(typed, 'session.login_failed', context);
      return { ok: false, reason: 'invalid' };
    }
    const sessionToken = newSecret(SESSION_PREFIX);
    const csrfToken = newSecret(CSRF_PREFIX);
    const now = new Date();
    const expiresAt = new Date(now.getTime() + SESSION_MAX_AGE_MS);
    const principal: StaffPrincipal = {
      memberId: member.id,
      email: member.email,
      role: member.role,
      channel: 'session',
      sessionHash: hashSecret(sessionToken),
      ...context,
    };
    await this.em.fork().transactional(async (em) => {
      em.persist(
        new StaffSession(
          em.getReference(StaffMember, member.id),
          principal.sessionHash!,
          hashSecret(csrfToken),
          now,
          expiresAt,
        ),
      );
      // Sessions that ended are swept here rather than by a job: each login pays for a few rows.
      await em.nativeDelete(StaffSession, {
        $or: [
          { expiresAt: { $lt: now } },
          { lastSeenAt: { $lt: new Date(now.getTime() - SESSION_IDLE_MS) } },
        ],
      });
      this.audit.within(em, principal, {
        action: 'session.login',
        target: { type: 'staff_member', id: member.id },
      });
    });
    return { ok: true, sessionToken, csrfToken, expiresAt, principal };
  }

  async logout(principal: StaffPrincipal): Promise<void> {
    await this.em.fork().transactional(async (em) => {
      if (principal.sessionHash) await em.nativeDelete(StaffSession, { tokenHash: principal.sessionHash });
      this.audit.within(em, principal, {
        action: 'session.logout',
        target: { type: 'staff_member', id: principal.memberId },
      });
    });
  }

  /** The session a cookie names, if it is live; `csrf` is whether the presented CSRF token matches it. */
  async bySession(
    sessionToken: string,
    csrfToken: string | undefined,
    context: RequestContext,
  ): Promise<{ principal: StaffPrincipal; csrf: boolean } | null> {
    const em = this.em.fork();
    const session = await em.findOne(
      StaffSession,
      { tokenHash: hashSecret(sessionToken) },
      { populate: ['member'] },
    );
    const now = Date.now();
    if (!session) return null;
    if (
      session.expiresAt.getTime() <= now ||
      session.lastSeenAt.getTime() + SESSION_IDLE_MS <= now ||
      session.member.disabledAt
    ) {
      await em.nativeDelete(StaffSession, { tokenHash: session.tokenHash });
      return null;
    }
    if (now - session.lastSeenAt.getTime() > TOUCH_EVERY_MS) {
      await em.nativeUpdate(StaffSession, { tokenHash: session.tokenHash }, { lastSeenAt: new Date(now) });
    }
    return {
      principal: {
        memberId: session.member.id,
        email: session.member.email,
        role: session.member.role,
        channel: 'session',
        sessionHash: session.tokenHash,
        ...context,
      },
      csrf: csrfToken !== undefined && hashSecret(csrfToken) === session.csrfHash,
    };
  }

  /** The member an API token acts for, if the token is live. */
  async byApiToken(token: string, context: RequestContext): Promise<StaffPrincipal | null> {
    if (!token.startsWith(API_TOKEN_PREFIX)) return null;
    const em = this.em.fork();
    const row = await em.findOne(StaffApiToken, { tokenHash: hashSecret(token) }, { populate: ['member'] });
    if (!row || row.revokedAt || row.member.disabledAt) return null;
    const now = Date.now();
    if (!row.lastUsedAt || now - row.lastUsedAt.getTime() > TOUCH_EVERY_MS) {
      await em.nativeUpdate(StaffApiToken, { id: row.id }, { lastUsedAt: new Date(now) });
    }
    return {
      memberId: row.member.id,
      email: row.member.email,
      role: row.member.role,
      channel: 'token',
      ...context,
    };
  }

  private async tooManyFailures(email: string, ip: string | null): Promise<boolean> {
    const since = new Date(Date.now() - LOGIN_WINDOW_MS);
    const [row] = await this.em
      .fork()
      .getConnection()
      .execute<{ by_email: number; by_address: number }[]>(
        `select count(*) filter (where actor_email = ?)::int as by_email,
              count(*) filter (where ip is not distinct from ?)::int as by_address
         from audit_log
        where action = 'session.login_failed' and actor_id is null and occurred_at > ?`,
        [email, ip, since],
      );
    return (
      row.by_email >= LOGIN_FAILURES_PER_EMAIL ||
      (ip !== null && row.by_address >= LOGIN_FAILURES_PER_ADDRESS)
    );
  }
}
