import { MikroOrmModule } from '@mikro-orm/nestjs';
import { Module } from '@nestjs/common';
import { CheckoutController } from './checkout.controller';
import { CheckoutOutcomes } from './checkout-outcomes.service';
import { CheckoutCloseRequestedListener } from './listeners/checkout-close-requested.listener';
import { OpenCheckouts } from './open-checkouts';
import { Payment } from './payment.entity';
import { PaymentGateway } from './payment-gateway.port';
import { PaymentsService } from './payments.service';
import { PaymentsAdmin } from './payments-admin';
import { ReconciliationService } from './reconciliation.service';
import { ReviewItem } from './review/review-item.entity';
import { ReviewQueue } from './review/review-queue';
import { ProcessedWebhookEvent } from './stripe/processed-webhook-event.entity';
import { StripePaymentGateway } from './stripe/stripe-payment-gateway.adapter';
import { StripeWebhookController } from './stripe/stripe-webhook.controller';
import { WebhookIntake } from './stripe/webhook-intake.service';
import { WebhookLedger } from './stripe/webhook-ledger';
import { WebhookSessionReports } from './stripe/webhook-session-reports';
import { Dispute } from './refunds/dispute.entity';
import { Refund } from './refunds/refund.entity';
import { RefundsService } from './refunds/refunds.service';

/**
 * Checkout attempts, Stripe's webhooks, reconciliation and money reviews. It needs orders only
 * through its own `OrderAccess` port (implemented by the orders module), and tells orders what
 * happened through its events: it imports nothing of orders.
 */
@Module({
  imports: [MikroOrmModule.forFeature([Payment, ProcessedWebhookEvent, ReviewItem, Refund, Dispute])],
  controllers: [CheckoutController, StripeWebhookController],
  providers: [
    { provide: PaymentGateway, useClass: StripePaymentGateway },
    PaymentsService,
    CheckoutOutcomes,
    WebhookIntake,
    WebhookSessionReports,
    ReconciliationService,
    WebhookLedger,
    ReviewQueue,
    OpenCheckouts,
    CheckoutCloseRequestedListener,
    RefundsService,
    PaymentsAdmin,
  ],
  exports: [OpenCheckouts, PaymentsAdmin],
})
export class PaymentsModule {}
