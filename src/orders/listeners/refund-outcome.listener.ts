import { EntityManager } from '@mikro-orm/postgresql';
import { Injectable } from '@nestjs/common';
import { OnEvent } from '@nestjs/event-emitter';
import { DisputeChangedEvent, RefundsChangedEvent } from '../../payments/events';
import { Money } from '../../shared/money';
import { Order } from '../order.entity';

/**
 * Refunds and disputes, applied to the order inside the payments transaction that learned of them
 * (the same must-succeed-together rule as `PaymentOutcomeListener`): a failure here rolls back the
 * ledger row too, and Stripe delivers the event again. Payments holds the order's row lock.
 */
@Injectable()
export class RefundOutcomeListener {
  constructor(private readonly em: EntityManager) {}

  @OnEvent(RefundsChangedEvent.eventName, { suppressErrors: false })
  async applyRefunds(event: RefundsChangedEvent): Promise<void> {
    (await this.order(event.orderId)).applyRefunds(
      Money.of(event.paidAmount, event.currency),
      Money.of(event.refundedAmount, event.currency),
      event.source,
      event.occurredAt,
    );
  }

  @OnEvent(DisputeChangedEvent.eventName, { suppressErrors: false })
  async recordDispute(event: DisputeChangedEvent): Promise<void> {
    (await this.order(event.orderId)).recordDispute(
      event.state,
      event.description,
      event.source,
      event.occurredAt,
    );
  }

  private order(id: string): Promise<Order> {
    if (!this.em.isInTransaction()) throw new Error('Refunds are applied inside the payments transaction');
    return this.em.findOneOrFail(Order, id);
  }
}
