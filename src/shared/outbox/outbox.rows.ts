import { Injectable } from '@nestjs/common';
import type { Sql } from '../database/explicit-sql';
import { insertSql, OUTBOX_CHANNEL, OutboxWriter } from './outbox.writer';

/** What one statement must hold so that its events reach their durable subscribers. */
export interface OutboxPart {
  /** The `outbox_events` and `outbox_deliveries` inserts (none when nobody subscribes). */
  parts: Sql[];
  /** What the statement answers: a `NOTIFY` when the deliveries are left for any instance to claim. */
  select: Sql | undefined;
  /** To call once the statement committed: this instance's relay runs the deliveries. */
  committed(): void;
}

/**
 * The outbox rows of events recorded by an aggregate that is stored with one explicit statement
 * (see `shared/database/explicit-sql.ts`) instead of an ORM transaction, whose commit hook
 * (`OutboxWriter`) would write them: the same rows, as parts of that statement, so that the change
 * and its reactions commit together or not at all.
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
      parts: [
        { text: insertSql(rows.events), params: rows.events.params },
        // The events' rows come from the same statement: the foreign key is checked at its end.
        { text: insertSql(rows.deliveries), params: rows.deliveries.params },
      ],
      // Delivered by PostgreSQL at commit, and only if it commits.
      select: rows.notify ? { text: `select pg_notify('${OUTBOX_CHANNEL}', '')`, params: [] } : undefined,
      committed: rows.committed,
    };
  }
}
