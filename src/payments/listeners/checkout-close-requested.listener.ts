import { Injectable } from '@nestjs/common';
import { OnDurableEvent } from '../../shared/outbox';
import { CheckoutCloseRequestedEvent } from '../events/checkout-close-requested.event';
import { PaymentsService } from '../payments.service';

/**
 * After a close request commits (order canceled, attempt superseded, order paid through another
 * attempt): expire the session at Stripe. Durable (the outbox): a failure is retried with backoff,
 * and a crash before the call still makes it, from whichever instance relays it; reconciliation
 * repeats it too, since the request is in the attempt's row. Closing twice is harmless.
 */
@Injectable()
export class CheckoutCloseRequestedListener {
  constructor(private readonly payments: PaymentsService) {}

  @OnDurableEvent(CheckoutCloseRequestedEvent, 'payments.close-session')
  async expireSession(event: CheckoutCloseRequestedEvent): Promise<void> {
    await this.payments.closeSession(event.paymentId);
  }
}
