import { Injectable, Logger } from '@nestjs/common';
import { OnEvent } from '@nestjs/event-emitter';
import { CheckoutCloseRequestedEvent } from '../events/checkout-close-requested.event';
import { PaymentsService } from '../payments.service';

/**
 * After a close request commits (order canceled, attempt superseded, order paid through another
 * attempt): expire the session at Stripe. If this fails or the process stops first, reconciliation
 * repeats it: the request is in the attempt's row.
 */
@Injectable()
export class CheckoutCloseRequestedListener {
  private readonly logger = new Logger(CheckoutCloseRequestedListener.name);

  constructor(private readonly payments: PaymentsService) {}

  @OnEvent(CheckoutCloseRequestedEvent.eventName)
  async expireSession(event: CheckoutCloseRequestedEvent): Promise<void> {
    try {
      await this.payments.closeSession(event.paymentId);
    } catch (error) {
      this.logger.warn(
        { orderId: event.orderId, paymentId: event.paymentId, err: (error as Error).message },
        'Could not close the checkout session now; reconciliation will',
      );
    }
  }
}
