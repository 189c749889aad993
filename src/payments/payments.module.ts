import { MikroOrmModule } from '@mikro-orm/nestjs';
import { Module } from '@nestjs/common';
import { OrdersModule } from '../orders';
import { CheckoutController } from './checkout.controller';
import { OrderCanceledListener } from './listeners/order-canceled.listener';
import { Payment } from './payment.entity';
import { PaymentEventsService } from './payment-events.service';
import { PaymentGateway } from './payment-gateway.port';
import { PaymentsService } from './payments.service';
import { PaymentsAdmin } from './payments-admin';
import { ReconciliationService } from './reconciliation.service';
import { ProcessedWebhookEvent } from './stripe/processed-webhook-event.entity';
import { StripePaymentGateway } from './stripe/stripe-payment-gateway.adapter';
import { StripeWebhookController } from './stripe/stripe-webhook.controller';
import { WebhookLedger } from './stripe/webhook-ledger';
import { Dispute } from './refunds/dispute.entity';
import { Refund } from './refunds/refund.entity';
import { RefundsService } from './refunds/refunds.service';

@Module({
  imports: [MikroOrmModule.forFeature([Payment, ProcessedWebhookEvent, Refund, Dispute]), OrdersModule],
  controllers: [CheckoutController, StripeWebhookController],
  providers: [
    { provide: PaymentGateway, useClass: StripePaymentGateway },
    PaymentsService,
    PaymentEventsService,
    ReconciliationService,
    WebhookLedger,
    OrderCanceledListener,
    RefundsService,
    PaymentsAdmin,
  ],
  exports: [PaymentsAdmin],
})
export class PaymentsModule {}
