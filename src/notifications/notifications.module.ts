import { type INestApplicationContext, Module, type WebSocketAdapter } from '@nestjs/common';
import type { AppConfig } from '../config';
import { OrdersModule } from '../orders';
import { CrossInstanceLink } from './cross-instance-link';
import { OrderStatusChangedListener } from './listeners/order-status-changed.listener';
import { NotificationsGateway } from './notifications.gateway';
import { NotificationsIoAdapter } from './notifications-io.adapter';

/** Live order status for customers' browsers: the Socket.IO gateway on `/orders`. Writes nothing. */
@Module({
  imports: [OrdersModule],
  providers: [NotificationsGateway, OrderStatusChangedListener, CrossInstanceLink],
})
export class NotificationsModule {
  /**
   * The Socket.IO server settings the gateway relies on (allowed origins, message size cap, the Redis
   * adapter when `REDIS_URL` is set). `configureApp` installs it, for `main.ts` and the tests alike.
   */
  static socketAdapter(app: INestApplicationContext, config: AppConfig): WebSocketAdapter {
    return new NotificationsIoAdapter(app, config);
  }
}
