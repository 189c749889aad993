import { MikroOrmModule } from '@mikro-orm/nestjs';
import { Module } from '@nestjs/common';
import { OrdersModule } from '../orders';
import { PaymentsModule } from '../payments';
import { AdminOrdersController } from './api/admin-orders.controller';
import { AdminWebhooksController } from './api/admin-webhooks.controller';
import { AdminReviewsController } from './api/admin-reviews.controller';
import { AuditController } from './api/audit.controller';
import { DashboardController } from './api/dashboard.controller';
import { SessionController } from './api/session.controller';
import { AuditLogEntry } from './audit-log-entry.entity';
import { AuditService } from './audit.service';
import { StaffApiToken } from './staff-api-token.entity';
import { StaffAuthService } from './staff-auth.service';
import { StaffGuard } from './staff-auth.guard';
import { StaffMember } from './staff-member.entity';
import { StaffSession } from './staff-session.entity';
import { StaffGateway } from './live/staff.gateway';
import { StaffConsoleModule } from './console/console.module';

/**
 * The people who run the shop: staff accounts, sessions and API tokens, the audit log, the staff API
 * under `/api/admin` and the console at `/admin`.
 */
@Module({
  imports: [
    MikroOrmModule.forFeature([StaffMember, StaffSession, StaffApiToken, AuditLogEntry]),
    OrdersModule,
    PaymentsModule,
    StaffConsoleModule,
  ],
  controllers: [
    SessionController,
    AuditController,
    AdminOrdersController,
    AdminWebhooksController,
    AdminReviewsController,
    DashboardController,
  ],
  providers: [StaffAuthService, AuditService, StaffGuard, StaffGateway],
  exports: [StaffAuthService],
})
export class StaffModule {}
