import { type Sql, sql, type WriteStatement } from '../shared/database/sql';
import type { Payment } from './payment.entity';

/**
 * Checkout attempts in a transaction of explicit statements (the webhook's): read and locked by a
 * statement of the caller's, changed by their own methods, written back by `writes`, only those
 * that changed, every column their methods may change.
 */
export class AttemptsInStatement {
  private readonly before: Map<Payment, string>;

  constructor(readonly attempts: readonly Payment[]) {
    this.before = new Map(attempts.map((attempt) => [attempt, fingerprint(attempt)]));
  }

  /** Locks every attempt of the order whose id the SQL expression `orderId` yields, newest first. */
  static lockStatement(orderId: Sql): Sql {
    return sql`select * from payments where order_id = ${orderId} order by attempt desc for update`;
  }

  /**
   * Writes the attempts that changed in a write statement of the caller's; returns the domain
   * events the changes recorded (for the outbox).
   */
  write(into: WriteStatement): object[] {
    for (const attempt of this.attempts) {
      if (fingerprint(attempt) === this.before.get(attempt)) continue;
      into.add(sql`update payments
         set status = ${attempt.status}, session_id = ${attempt.sessionId}, url = ${attempt.url},
             payment_intent_id = ${attempt.paymentIntentId}, failure_code = ${attempt.failureCode},
             failure_message = ${attempt.failureMessage}, next_check_at = ${attempt.nextCheckAt},
             checks = ${attempt.checks}, close_requested_at = ${attempt.closeRequestedAt},
             updated_at = ${attempt.updatedAt}
       where id = ${attempt.id} and ${into.when}`);
    }
    return this.attempts.flatMap((attempt) => attempt.pullDomainEvents());
  }

  /**
   * A gate for the write statement: the order still has exactly the attempts read. Under the
   * order's lock no attempt is added, so a later statement sees them all; one the reading statement
   * could not see (committed after that statement began, before it got the lock) makes it false.
   */
  static unchangedStatement(orderId: string, count: number): Sql {
    return sql`select count(*) = ${count} as ok from payments where order_id = ${orderId}`;
  }
}

function fingerprint(attempt: Payment): string {
  return JSON.stringify([
    attempt.status,
    attempt.sessionId,
    attempt.url,
    attempt.paymentIntentId,
    attempt.failureCode,
    attempt.failureMessage,
    attempt.nextCheckAt?.getTime() ?? null,
    attempt.checks,
    attempt.closeRequestedAt?.getTime() ?? null,
    attempt.updatedAt.getTime(),
  ]);
}
