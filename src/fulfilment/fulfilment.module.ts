import { MikroOrmModule } from '@mikro-orm/nestjs';
import { Module } from '@nestjs/common';
import { EntityManager } from '@mikro-orm/postgresql';
import { AppConfig } from '../config';
import { FulfilmentRequest } from './fulfilment-request.entity';
import { OrderPaidListener } from './order-paid.listener';

/**
 * A module another team could own: it reacts durably to `orders.paid` without touching Orders or
 * Payments. Off unless `FULFILMENT_EXAMPLE=true` (with it off, its subscriber does not exist, so no
 * delivery rows are written for it).
 */
@Module({
  imports: [MikroOrmModule.forFeature([FulfilmentRequest])],
  providers: [
    {
      provide: OrderPaidListener,
      inject: [AppConfig, EntityManager],
      useFactory: (config: AppConfig, em: EntityManager) =>
        config.fulfilmentExample ? new OrderPaidListener(em) : null,
    },
  ],
})
export class FulfilmentModule {}
