import { LockMode } from '@mikro-orm/core';
import { EntityManager } from '@mikro-orm/postgresql';
import { Injectable } from '@nestjs/common';
import { Payment, PaymentStatus } from './payment.entity';

/**
 * What the orders module may ask of payments when an order stops being payable (its cancellation):
 * every session of the order that could still take money is to be closed.
 */
@Injectable()
export class OpenCheckouts {
  constructor(private readonly em: EntityManager) {}

  /**
   * Runs inside the caller's transaction, so the close request commits with the cancellation; the
   * expiry at Stripe follows the commit, and reconciliation repeats it until Stripe confirms.
   */
  async closeForOrder(orderId: string): Promise<void> {
    if (!this.em.isInTransaction()) throw new Error('OpenCheckouts.closeForOrder() joins a transaction');
    const attempts = await this.em.find(
      Payment,
      { orderId, status: { $in: [PaymentStatus.Creating, PaymentStatus.Open] } },
      { lockMode: LockMode.PESSIMISTIC_WRITE, refresh: true },
    );
    for (const attempt of attempts) attempt.requestClose();
  }
}
