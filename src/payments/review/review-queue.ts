import { EntityManager } from '@mikro-orm/postgresql';
import { Injectable, Logger } from '@nestjs/common';
import { ReviewItem, type ReviewKind } from './review-item.entity';

/** Opens review items; must run inside the transaction that applies what raised them. */
@Injectable()
export class ReviewQueue {
  private readonly logger = new Logger('MoneyReview');

  constructor(private readonly em: EntityManager) {}

  open(kind: ReviewKind, orderId: string | null, reason: string, sourceRef: string | null): ReviewItem {
    if (!this.em.isInTransaction()) throw new Error('Review items are opened inside a transaction');
    const item = new ReviewItem(kind, orderId, reason, sourceRef, new Date());
    this.em.persist(item);
    // At error: a person must act on money. The reason may name amounts and sessions, never a customer.
    this.logger.error({ orderId, reviewKind: kind, sourceRef }, `Needs review: ${reason}`);
    return item;
  }
}
