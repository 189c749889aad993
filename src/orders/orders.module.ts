import { MikroOrmModule } from '@mikro-orm/nestjs';
import { Module } from '@nestjs/common';
import { CatalogModule } from '../catalog';
import { PaymentsModule } from '../payments';
import { PaymentOutcomeListener } from './listeners/payment-outcome.listener';
import { RefundOutcomeListener } from './listeners/refund-outcome.listener';
import { OrderHistoryEntry } from './order-history-entry.entity';
import { OrderAccessModule } from './order-access.adapter';
import { OrderItem } from './order-item.entity';
import { Order } from './order.entity';
import { OrdersController } from './orders.controller';
import { OrdersService } from './orders.service';

@Module({
  // Orders depend on payments (its events, its OpenCheckouts facade, its OrderAccess port, which
  // OrderAccessModule implements); payments never import orders.
  imports: [
    MikroOrmModule.forFeature([Order, OrderItem, OrderHistoryEntry]),
    CatalogModule,
    PaymentsModule,
    OrderAccessModule,
  ],
  controllers: [OrdersController],
  providers: [OrdersService, PaymentOutcomeListener, RefundOutcomeListener],
  // The one OrdersReader, made by OrderAccessModule (which answers the payments port with it).
  exports: [OrderAccessModule],
})
export class OrdersModule {}
