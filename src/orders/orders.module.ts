import { MikroOrmModule } from '@mikro-orm/nestjs';
import { Module } from '@nestjs/common';
import { CatalogModule } from '../catalog';
import { PaymentOutcomeListener } from './listeners/payment-outcome.listener';
import { RefundOutcomeListener } from './listeners/refund-outcome.listener';
import { OrderHistoryEntry } from './order-history-entry.entity';
import { OrderItem } from './order-item.entity';
import { Order } from './order.entity';
import { OrdersController } from './orders.controller';
import { OrdersReader } from './orders.reader';
import { OrdersService } from './orders.service';

@Module({
  imports: [MikroOrmModule.forFeature([Order, OrderItem, OrderHistoryEntry]), CatalogModule],
  controllers: [OrdersController],
  providers: [OrdersService, OrdersReader, PaymentOutcomeListener, RefundOutcomeListener],
  exports: [OrdersReader],
})
export class OrdersModule {}
