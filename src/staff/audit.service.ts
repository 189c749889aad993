import { EntityManager } from '@mikro-orm/postgresql';
import { Injectable } from '@nestjs/common';
import { AuditLogEntry } from './audit-log-entry.entity';
import type { StaffPrincipal } from './staff-principal';

export interface AuditTarget {
  type: string;
  id: string;
}

/** A staff member, or the command line (whoever holds the shell: no member). */
export type AuditActor = StaffPrincipal | { channel: 'cli' };

export interface AuditRecord {
  action: string;
  target?: AuditTarget | null;
  before?: Record<string, unknown> | null;
  after?: Record<string, unknown> | null;
}

/** Writes the audit log. `within` joins the caller's transaction; `record` commits on its own. */
@Injectable()
export class AuditService {
  constructor(private readonly em: EntityManager) {}

  /** Adds the entry to `em`'s unit of work: it commits (or rolls back) with the caller's transaction. */
  within(em: EntityManager, actor: AuditActor, record: AuditRecord): void {
    em.persist(entry(actor, record));
  }

  async record(actor: AuditActor, record: AuditRecord): Promise<void> {
    await this.em.fork().persistAndFlush(entry(actor, record));
  }

  /** What nobody authenticated did: a failed login, with the e-mail as typed. */
  async anonymous(
    email: string,
    action: string,
    context: { ip: string | null; requestId: string | null },
    after: Record<string, unknown> | null = null,
  ): Promise<void> {
    await this.em.fork().persistAndFlush(
      new AuditLogEntry({
        actorId: null,
        actorEmail: email.slice(0, 254),
        channel: 'session',
        action,
        targetType: null,
        targetId: null,
        before: null,
        after,
        ip: context.ip,
        requestId: context.requestId,
        occurredAt: new Date(),
      }),
    );
  }
}

function entry(actor: AuditActor, record: AuditRecord): AuditLogEntry {
  const member = 'memberId' in actor ? actor : null;
  return new AuditLogEntry({
    actorId: member?.memberId ?? null,
    actorEmail: member?.email ?? null,
    channel: actor.channel,
    action: record.action,
    targetType: record.target?.type ?? null,
    targetId: record.target?.id ?? null,
    before: record.before ?? null,
    after: record.after ?? null,
    ip: member?.ip ?? null,
    requestId: member?.requestId ?? null,
    occurredAt: new Date(),
  });
}
