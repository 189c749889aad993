import { Module } from '@nestjs/common';
import { OrdersModule } from '../orders';
import { PaymentsModule } from '../payments';
import { AdminOrdersController } from './api/admin-orders.controller';
import { AdminWebhooksController } from './api/admin-webhooks.controller';
import { AdminReviewsController } from './api/admin-reviews.controller';
import { AuditController } from './api/audit.controller';
import { DashboardController } from './api/dashboard.controller';
import { SessionController } from './api/session.controller';
import { StaffAuthModule } from './staff-auth.module';
import { StaffGuard } from './staff-auth.guard';
import { StaffGateway } from './live/staff.gateway';
import { StaffConsoleModule } from './console/console.module';

/**
 * The people who run the shop: staff accounts, sessions and API tokens, the audit log, the staff API
 * under `/api/admin` and the console at `/admin`.
 */
@Module({
  imports: [StaffAuthModule, OrdersModule, PaymentsModule, StaffConsoleModule],
  controllers: [
    SessionController,
    AuditController,
    AdminOrdersController,
    AdminWebhooksController,
    AdminReviewsController,
    DashboardController,
  ],
  providers: [StaffGuard, StaffGateway],
})
export class StaffModule {}
