import { randomUUID } from 'node:crypto';
import { Embedded, Entity, Index, PrimaryKey, Property } from '@mikro-orm/core';
import { Money } from '../../shared/money';
import type { DisputeInfo, DisputeStatus } from '../payment-gateway.port';

const CLOSED: ReadonlySet<DisputeStatus> = new Set(['won', 'lost', 'warning_closed']);
/** How far along a dispute is: news never moves it back (an `updated` that arrives after `closed`). */
const RANK: Record<DisputeStatus, number> = {
  warning_needs_response: 0,
  needs_response: 0,
  warning_under_review: 1,
  under_review: 1,
  warning_closed: 2,
  won: 2,
  lost: 2,
};

/**
 * A dispute (chargeback) about one of an order's payments, as Stripe's `charge.dispute.*` events
 * report it: reason, amount, the deadline for evidence, and how it ended. A closed dispute takes no
 * older news.
 */
@Entity({ tableName: 'disputes' })
export class Dispute {
  @PrimaryKey({ type: 'uuid' })
  readonly id: string = randomUUID();

  @Property({ type: 'string', length: 255, unique: true })
  readonly stripeDisputeId: string;

  @Property({ type: 'uuid' })
  @Index()
  readonly orderId: string;

  @Property({ type: 'uuid' })
  readonly paymentId: string;

  @Embedded(() => Money, { prefix: false })
  amount: Money;

  @Property({ type: 'string', length: 64 })
  reason: string;

  @Property({ type: 'string', length: 32 })
  status: DisputeStatus;

  @Property({ type: 'datetime', nullable: true })
  evidenceDueBy: Date | null;

  @Property({ type: 'datetime' })
  readonly createdAt: Date = new Date();

  @Property({ type: 'datetime' })
  updatedAt: Date = new Date();

  constructor(orderId: string, paymentId: string, info: DisputeInfo, amount: Money) {
    this.orderId = orderId;
    this.paymentId = paymentId;
    this.stripeDisputeId = info.id;
    this.amount = amount;
    this.reason = info.reason;
    this.status = info.status;
    this.evidenceDueBy = info.evidenceDueBy;
  }

  get outcome(): 'won' | 'lost' | null {
    return this.status === 'won' ? 'won' : this.status === 'lost' ? 'lost' : null;
  }

  get isClosed(): boolean {
    return CLOSED.has(this.status);
  }

  /** Later news; none once closed, and never back to an earlier stage. */
  learn(info: DisputeInfo, amount: Money, now = new Date()): 'applied' | 'stale' {
    if (this.isClosed || info.status === this.status || RANK[info.status] < RANK[this.status]) return 'stale';
    this.status = info.status;
    this.amount = amount;
    this.reason = info.reason;
    this.evidenceDueBy = info.evidenceDueBy;
    this.updatedAt = now;
    return 'applied';
  }
}
