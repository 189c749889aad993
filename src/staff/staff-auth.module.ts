import { MikroOrmModule } from '@mikro-orm/nestjs';
import { Module } from '@nestjs/common';
import { AuditLogEntry } from './audit-log-entry.entity';
import { AuditService } from './audit.service';
import { StaffApiToken } from './staff-api-token.entity';
import { StaffAuthService } from './staff-auth.service';
import { StaffMember } from './staff-member.entity';
import { StaffSession } from './staff-session.entity';

/**
 * Staff accounts, sessions, API tokens and the audit log, on their own: what the `staff:add` and
 * `staff:token` commands need, without the rest of the application.
 */
@Module({
  imports: [MikroOrmModule.forFeature([StaffMember, StaffSession, StaffApiToken, AuditLogEntry])],
  providers: [StaffAuthService, AuditService],
  exports: [StaffAuthService, AuditService],
})
export class StaffAuthModule {}
