import { EntityManager } from '@mikro-orm/postgresql';
import { Body, Controller, Get, HttpCode, HttpStatus, Param, Post, Query } from '@nestjs/common';
import {
  ApiConflictResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiProperty,
  ApiPropertyOptional,
  ApiTags,
} from '@nestjs/swagger';
import { isUUID, IsIn, IsOptional, IsString, IsUUID, Matches, MaxLength } from 'class-validator';
import { PaymentsAdmin, type ReviewSnapshot } from '../../payments';
import { DomainError } from '../../shared/domain-error';
import { RequestValidationError } from '../../shared/domain-error.filter';
import { ParseId } from '../../shared/http';
import { AuditService } from '../audit.service';
import { Staff, StaffOnly } from '../staff-auth.guard';
import type { StaffPrincipal } from '../staff-principal';
import { StaffRole } from '../staff-role';
import {
  ApiInvalidQueryResponse,
  decodeCursor,
  DEFAULT_PAGE,
  encodeCursor,
  type Page,
  PageQuery,
} from './pagination';

export class ReviewsQuery extends PageQuery {
  @ApiPropertyOptional({ enum: ['open', 'resolved', 'all'], default: 'open' })
  @IsOptional()
  @IsIn(['open', 'resolved', 'all'])
  state?: 'open' | 'resolved' | 'all';

  @ApiPropertyOptional({ example: 'dispute' })
  @IsOptional()
  @Matches(/^[a-z_]{1,32}$/)
  kind?: string;

  @ApiPropertyOptional({ format: 'uuid' })
  @IsOptional()
  @IsUUID()
  orderId?: string;
}

export class ResolveReviewDto {
  @ApiProperty({ description: 'What was done (required)', maxLength: 2000 })
  @IsString()
  @Matches(/\S/, { message: 'note must not be empty' })
  @MaxLength(2000)
  note!: string;
}

export class ReviewResponse {
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiProperty({ type: String, nullable: true, format: 'uuid' }) orderId!: string | null;
  @ApiProperty({
    example: 'dispute',
    description:
      'amount_mismatch, paid_twice, paid_after_cancel, malformed_event, foreign_session, refund_failed, refund_unconfirmed, dispute, dispute_lost',
  })
  kind!: string;
  @ApiProperty() reason!: string;
  @ApiProperty({ type: String, nullable: true }) sourceRef!: string | null;
  @ApiProperty() createdAt!: Date;
  @ApiProperty({ type: String, format: 'date-time', nullable: true }) resolvedAt!: Date | null;
  @ApiProperty({ type: String, nullable: true }) resolvedBy!: string | null;
  @ApiProperty({ type: String, nullable: true }) resolution!: string | null;
}

export class ReviewsPageResponse {
  @ApiProperty({ type: [ReviewResponse] }) items!: ReviewResponse[];
  @ApiProperty({ type: String, nullable: true }) nextCursor!: string | null;
}

class ReviewNotFoundError extends DomainError {
  readonly code = 'REVIEWS.NOT_FOUND';
  readonly kind = 'not_found';
  constructor() {
    super('No such review item');
  }
}

@ApiTags('staff')
@Controller('admin/reviews')
export class AdminReviewsController {
  constructor(
    private readonly payments: PaymentsAdmin,
    private readonly audit: AuditService,
    private readonly em: EntityManager,
  ) {}

  /** Money problems waiting for a person (open by default), newest first. */
  @Get()
  @StaffOnly(StaffRole.Viewer)
  @ApiOkResponse({ type: ReviewsPageResponse })
  @ApiInvalidQueryResponse()
  async list(@Query() query: ReviewsQuery): Promise<Page<ReviewSnapshot>> {
    const limit = query.limit ?? DEFAULT_PAGE;
    const after = decodeCursor(query.cursor);
    const createdAt = after ? new Date(String(after[0])) : null;
    if (after && (Number.isNaN(createdAt!.getTime()) || !isUUID(String(after[1])))) {
      throw new RequestValidationError([{ field: 'cursor', message: 'cursor is not one this API gave out' }]);
    }
    const rows = await this.payments.reviews({
      state: query.state ?? 'open',
      kind: query.kind,
      orderId: query.orderId,
      after: after ? { createdAt: createdAt!, id: String(after[1]) } : undefined,
      limit: limit + 1,
    });
    const items = rows.slice(0, limit);
    const last = items.at(-1);
    return {
      items,
      nextCursor: rows.length > limit && last ? encodeCursor(last.createdAt.toISOString(), last.id) : null,
    };
  }

  /** Resolves an item with a note saying what was done; the audit entry commits with it. */
  @Post(':id/resolve')
  @HttpCode(HttpStatus.OK)
  @StaffOnly(StaffRole.Operator)
  @ApiOkResponse({ type: ReviewResponse })
  @ApiNotFoundResponse({ description: 'No such review item' })
  @ApiConflictResponse({ description: 'Already resolved' })
  async resolve(
    @Param('id', ParseId) id: string,
    @Body() body: ResolveReviewDto,
    @Staff() staff: StaffPrincipal,
  ): Promise<ReviewSnapshot> {
    return this.em.transactional(async (em) => {
      const resolved = await this.payments.resolveReview(id, staff.email, body.note);
      if (!resolved) throw new ReviewNotFoundError();
      this.audit.within(em, staff, {
        action: 'review.resolve',
        target: { type: 'review_item', id },
        before: { ...resolved.before },
        after: { ...resolved.after },
      });
      return resolved.after;
    });
  }
}
