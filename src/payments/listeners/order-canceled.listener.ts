import { Injectable } from '@nestjs/common';
import { OrderCanceledEvent } from '../../orders/events';
import { OnDurableEvent } from '../../shared/outbox';
import { PaymentsService } from '../payments.service';

/**
 * After a cancellation commits: close the order's open checkout at Stripe. Durable (the outbox):
 * a crash before the call still closes it. Expiring twice is harmless.
 */
@Injectable()
export class OrderCanceledListener {
  constructor(private readonly payments: PaymentsService) {}

  @OnDurableEvent(OrderCanceledEvent, 'payments.expire-open-checkouts')
  async expireOpenCheckout(event: OrderCanceledEvent): Promise<void> {
    await this.payments.expireOpenCheckouts(event.orderId);
  }
}
