import { Injectable } from '@nestjs/common';
import { Sql } from '../database/sql';
import { insertSql, OUTBOX_CHANNEL, OutboxWriter } from './outbox.writer';

/** What one statement must hold so that its events reach their durable subscribers. */
export interface OutboxPart {
  /** The `outbox_events` and `outbox_deliveries` inserts (none when nobody subscribes). */
  parts: Sql[];
  /** What the statement answers: on PostgreSQL, the `NOTIFY` that wakes every instance's relay at commit, when needed. */
  select: Sql | undefined;
  /** To call once the statement committed: hands the deliveries to this instance's relay (or wakes it). */
  committed(): void;
}

/**
 * The outbox rows of events recorded by an aggregate that is stored with one explicit statement
 * (see `shared/database/explicit-sql.ts`) instead of an ORM transaction, whose commit hook
 * (`OutboxWriter`) would write them: the same rows (`OutboxWriter.rowsOf`: the deliveries claimed
 * for this process and run by its relay after the commit), as parts of that statement, so that the
 * change and its reactions commit together or not at all.
 */
@Injectable()
export class OutboxRows {
  constructor(private readonly writer: OutboxWriter) {}

  /**
   * The rows `OutboxWriter.rowsOf` gives (deliveries claimed for this process and run by its relay
   * once `committed()` is called), as parts of the statement.
   */
  of(recorded: readonly object[]): OutboxPart {
    const rows = this.writer.rowsOf(recorded);
    if (!rows) return { parts: [], select: undefined, committed: () => undefined };
    return {
      parts: [rows.events, rows.deliveries].map((insert) => Sql.withValues(insertSql(insert), insert.params)),
      // Delivered by PostgreSQL at commit, and only if it commits.
      select: rows.notify ? Sql.raw(`select pg_notify('${OUTBOX_CHANNEL}', '')`) : undefined,
      committed: rows.committed,
    };
  }
}
