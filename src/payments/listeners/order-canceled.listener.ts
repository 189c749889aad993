import { Injectable } from '@nestjs/common';
import { OnEvent } from '@nestjs/event-emitter';
import { OrderCanceledEvent } from '../../orders/events';
import { PaymentsService } from '../payments.service';

/** After a cancellation commits: close the order's open checkout at Stripe. */
@Injectable()
export class OrderCanceledListener {
  constructor(private readonly payments: PaymentsService) {}

  @OnEvent(OrderCanceledEvent.eventName)
  async expireOpenCheckout(event: OrderCanceledEvent): Promise<void> {
    await this.payments.expireOpenCheckouts(event.orderId);
  }
}
