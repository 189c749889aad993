import { Controller, Get, HttpCode, HttpStatus, Param, Post, Query } from '@nestjs/common';
import {
  ApiBadGatewayResponse,
  ApiBadRequestResponse,
  ApiConflictResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiProperty,
  ApiPropertyOptional,
  ApiTags,
} from '@nestjs/swagger';
import { IsOptional, IsUUID, Matches } from 'class-validator';
import { PaymentsAdmin, type ReplaySnapshot } from '../../payments';
import { DomainError } from '../../shared/domain-error';
import { RequestValidationError } from '../../shared/domain-error.filter';
import { AuditService } from '../audit.service';
import { Staff, StaffOnly } from '../staff-auth.guard';
import type { StaffPrincipal } from '../staff-principal';
import { StaffRole } from '../staff-role';
import { LedgerEntryResponse } from './order-record.response';
import {
  ApiInvalidQueryResponse,
  decodeCursor,
  DEFAULT_PAGE,
  encodeCursor,
  type Page,
  PageQuery,
} from './pagination';

const OUTCOMES = ['applied', 'ignored', 'unmatched', 'mismatch', 'malformed'];
/** Stripe event ids: `evt_` and letters, digits and underscores. */
const EVENT_ID = /^evt_\w{1,250}$/;

export class LedgerQuery extends PageQuery {
  @ApiPropertyOptional({ enum: OUTCOMES })
  @IsOptional()
  @Matches(/^(applied|ignored|unmatched|mismatch|malformed)$/, {
    message: `outcome must be one of ${OUTCOMES.join(', ')}`,
  })
  outcome?: string;

  @ApiPropertyOptional({ example: 'checkout.session.completed' })
  @IsOptional()
  @Matches(/^[a-z_.]{1,128}$/, { message: 'type must be a Stripe event type' })
  type?: string;

  @ApiPropertyOptional({ format: 'uuid' })
  @IsOptional()
  @IsUUID()
  orderId?: string;
}

export class LedgerPageResponse {
  @ApiProperty({ type: [LedgerEntryResponse] }) items!: LedgerEntryResponse[];
  @ApiProperty({ type: String, nullable: true }) nextCursor!: string | null;
}

export class ReplayResponse {
  @ApiProperty() eventId!: string;
  @ApiProperty() type!: string;
  @ApiProperty({ type: String, nullable: true }) previousOutcome!: string | null;
  @ApiProperty() outcome!: string;
  @ApiProperty({ type: String, nullable: true, format: 'uuid' }) orderId!: string | null;
  @ApiProperty() detail!: string;
}

@ApiTags('staff')
@Controller('admin/webhook-events')
export class AdminWebhooksController {
  constructor(
    private readonly payments: PaymentsAdmin,
    private readonly audit: AuditService,
  ) {}

  /** The webhook ledger, newest first: every Stripe event received, its outcome and deliveries. */
  @Get()
  @StaffOnly(StaffRole.Viewer)
  @ApiOkResponse({ type: LedgerPageResponse })
  @ApiInvalidQueryResponse()
  async list(@Query() query: LedgerQuery): Promise<Page<LedgerEntryResponse>> {
    const limit = query.limit ?? DEFAULT_PAGE;
    const after = decodeCursor(query.cursor);
    const receivedAt = after ? new Date(String(after[0])) : null;
    if (after && (Number.isNaN(receivedAt!.getTime()) || typeof after[1] !== 'string')) {
      throw new RequestValidationError([{ field: 'cursor', message: 'cursor is not one this API gave out' }]);
    }
    const rows = await this.payments.ledger({
      outcome: query.outcome,
      type: query.type,
      orderId: query.orderId,
      after: after ? { receivedAt: receivedAt!, id: String(after[1]) } : undefined,
      limit: limit + 1,
    });
    const items = rows.slice(0, limit);
    const last = items.at(-1);
    return {
      items,
      nextCursor: rows.length > limit && last ? encodeCursor(last.receivedAt.toISOString(), last.id) : null,
    };
  }

  /**
   * Fetches the event again from Stripe (`GET /v1/events/:id`) and applies it through the same
   * exactly-once path as a delivery: the way to recover an `unmatched`, `ignored` or `malformed`
   * event once the cause is fixed. An `applied` or `mismatch` event is refused (409).
   */
  @Post(':id/replay')
  @HttpCode(HttpStatus.OK)
  @StaffOnly(StaffRole.Operator)
  @ApiOkResponse({ type: ReplayResponse })
  @ApiBadRequestResponse({ description: 'The id is not a Stripe event id (evt_…)' })
  @ApiNotFoundResponse({ description: 'Not in the ledger, or unknown to Stripe' })
  @ApiConflictResponse({ description: 'Its delivery took effect: not replayed' })
  @ApiBadGatewayResponse({ description: 'Stripe could not be reached' })
  async replay(@Param('id') id: string, @Staff() staff: StaffPrincipal): Promise<ReplaySnapshot> {
    if (!EVENT_ID.test(id)) {
      throw new RequestValidationError([{ field: 'id', message: 'id must be a Stripe event id (evt_…)' }]);
    }
    try {
      const replay = await this.payments.replay(id);
      await this.audit.record(staff, {
        action: 'webhook_event.replay',
        target: { type: 'webhook_event', id },
        before: { outcome: replay.previousOutcome },
        after: { outcome: replay.outcome, orderId: replay.orderId, detail: replay.detail },
      });
      return replay;
    } catch (error) {
      if (error instanceof DomainError) {
        await this.audit.record(staff, {
          action: 'webhook_event.replay_refused',
          target: { type: 'webhook_event', id },
          after: { error: error.code },
        });
      }
      throw error;
    }
  }
}
