import { EntityManager } from '@mikro-orm/postgresql';
import { Controller, Get, Query } from '@nestjs/common';
import { ApiOkResponse, ApiProperty, ApiPropertyOptional, ApiTags } from '@nestjs/swagger';
import { IsOptional, IsString, Matches, MaxLength } from 'class-validator';
import { AuditLogEntry } from '../audit-log-entry.entity';
import { StaffOnly } from '../staff-auth.guard';
import { StaffRole } from '../staff-role';
import {
  ApiInvalidQueryResponse,
  decodeCursor,
  DEFAULT_PAGE,
  encodeCursor,
  type Page,
  PageQuery,
} from './pagination';

export class AuditQuery extends PageQuery {
  @ApiPropertyOptional({ example: 'refund.create' })
  @IsOptional()
  @Matches(/^[a-z_.]{1,64}$/)
  action?: string;

  @ApiPropertyOptional({ description: 'Entries about this target id (an order, a review item…)' })
  @IsOptional()
  @IsString()
  @MaxLength(255)
  targetId?: string;

  @ApiPropertyOptional({ description: 'Entries by this staff e-mail' })
  @IsOptional()
  @IsString()
  @MaxLength(254)
  actor?: string;
}

export class AuditEntryResponse {
  @ApiProperty() id!: number;
  @ApiProperty() occurredAt!: Date;
  @ApiProperty({ type: String, nullable: true, format: 'uuid' }) actorId!: string | null;
  @ApiProperty({ type: String, nullable: true }) actorEmail!: string | null;
  @ApiProperty({ enum: ['session', 'token', 'cli'] }) channel!: string;
  @ApiProperty() action!: string;
  @ApiProperty({ type: String, nullable: true }) targetType!: string | null;
  @ApiProperty({ type: String, nullable: true }) targetId!: string | null;
  @ApiProperty({ nullable: true, type: 'object', additionalProperties: true })
  before!: Record<string, unknown> | null;
  @ApiProperty({ nullable: true, type: 'object', additionalProperties: true })
  after!: Record<string, unknown> | null;
  @ApiProperty({ type: String, nullable: true }) ip!: string | null;
  @ApiProperty({ type: String, nullable: true }) requestId!: string | null;
}

export class AuditPageResponse {
  @ApiProperty({ type: [AuditEntryResponse] }) items!: AuditEntryResponse[];
  @ApiProperty({ type: String, nullable: true }) nextCursor!: string | null;
}

@ApiTags('staff')
@Controller('admin/audit')
export class AuditController {
  constructor(private readonly em: EntityManager) {}

  /** The audit log, newest first (admins). */
  @Get()
  @StaffOnly(StaffRole.Admin)
  @ApiOkResponse({ type: AuditPageResponse })
  @ApiInvalidQueryResponse()
  async list(@Query() query: AuditQuery): Promise<Page<AuditEntryResponse>> {
    const limit = query.limit ?? DEFAULT_PAGE;
    const after = decodeCursor(query.cursor);
    const rows = await this.em.find(
      AuditLogEntry,
      {
        ...(query.action ? { action: query.action } : {}),
        ...(query.targetId ? { targetId: query.targetId } : {}),
        ...(query.actor ? { actorEmail: query.actor.trim().toLowerCase() } : {}),
        ...(after ? { id: { $lt: Number(after[1]) || 0 } } : {}),
      },
      { orderBy: { id: 'desc' }, limit: limit + 1 },
    );
    const items = rows.slice(0, limit).map((row): AuditEntryResponse => ({
      id: row.id,
      occurredAt: row.occurredAt,
      actorId: row.actorId,
      actorEmail: row.actorEmail,
      channel: row.channel,
      action: row.action,
      targetType: row.targetType,
      targetId: row.targetId,
      before: row.before,
      after: row.after,
      ip: row.ip,
      requestId: row.requestId,
    }));
    const last = items.at(-1);
    return { items, nextCursor: rows.length > limit && last ? encodeCursor(0, last.id) : null };
  }
}
