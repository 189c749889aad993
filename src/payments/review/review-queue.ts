import { EntityManager } from '@mikro-orm/postgresql';
import { Injectable, Logger } from '@nestjs/common';
import { Sql, sql, type WriteStatement } from '../../shared/database/sql';
import { ReviewItem, type ReviewKind } from './review-item.entity';

/** Opens review items; must run inside the transaction that applies what raised them. */
@Injectable()
export class ReviewQueue {
  private readonly logger = new Logger('MoneyReview');

  constructor(private readonly em: EntityManager) {}

  open(kind: ReviewKind, orderId: string | null, reason: string, sourceRef: string | null): ReviewItem {
    if (!this.em.isInTransaction()) throw new Error('Review items are opened inside a transaction');
    const item = this.raise(kind, orderId, reason, sourceRef);
    this.em.persist(item);
    return item;
  }

  /**
   * A review item for a transaction of explicit statements: logged now, written by the caller with
   * `insertStatement` in the transaction that found it.
   */
  raise(kind: ReviewKind, orderId: string | null, reason: string, sourceRef: string | null): ReviewItem {
    const item = new ReviewItem(kind, orderId, reason, sourceRef, new Date());
    // At error: a person must act on money. The reason may name amounts and sessions, never a customer.
    this.logger.error({ orderId, reviewKind: kind, sourceRef }, `Needs review: ${reason}`);
    return item;
  }

  /** Writes raised items in a write statement of the caller's. */
  write(into: WriteStatement, items: readonly ReviewItem[]): void {
    if (items.length === 0) return;
    const rows = items.map(
      (item) =>
        sql`(${item.id}::uuid, ${item.orderId}::uuid, ${item.kind}::text, ${item.reason}::text,
             ${item.sourceRef}::text, ${item.createdAt}::timestamptz)`,
    );
    into.add(sql`insert into review_items (id, order_id, kind, reason, source_ref, created_at)
      select * from (values ${Sql.join(rows, ', ')}) as item where ${into.when}`);
  }
}
