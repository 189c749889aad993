import { Body, Controller, Get, Headers, Param, Post, Query, Res } from '@nestjs/common';
import {
  ApiBadGatewayResponse,
  ApiConflictResponse,
  ApiCreatedResponse,
  ApiHeader,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiTags,
  ApiUnprocessableEntityResponse,
} from '@nestjs/swagger';
import { isUUID } from 'class-validator';
import type { Response } from 'express';
import { OrdersReader, type OrderSearch } from '../../orders';
import { PaymentsAdmin } from '../../payments';
import { DomainError } from '../../shared/domain-error';
import { RequestValidationError } from '../../shared/domain-error.filter';
import { ParseId } from '../../shared/http';
import { AuditService } from '../audit.service';
import { Staff, StaffOnly } from '../staff-auth.guard';
import type { StaffPrincipal } from '../staff-principal';
import { StaffRole } from '../staff-role';
import { OrderRecordResponse, recordResponse, summaryResponse } from './order-record.response';
import { CreateRefundDto, OrdersPageResponse, OrdersQuery, RefundResponse } from './orders.dto';
import { ApiInvalidQueryResponse, decodeCursor, DEFAULT_PAGE, encodeCursor, type Page } from './pagination';

/** Most rows one CSV export holds; narrow the filters for more. */
export const CSV_EXPORT_LIMIT = 10_000;

class StaffOrderNotFoundError extends DomainError {
  readonly code = 'ORDERS.NOT_FOUND';
  readonly kind = 'not_found';
  constructor() {
    super('Order not found');
  }
}

@ApiTags('staff')
@Controller('admin/orders')
export class AdminOrdersController {
  constructor(
    private readonly orders: OrdersReader,
    private readonly payments: PaymentsAdmin,
    private readonly audit: AuditService,
  ) {}

  /** Orders, newest first, filtered by status, e-mail, date range and amount; cursor pagination. */
  @Get()
  @StaffOnly(StaffRole.Viewer)
  @ApiOkResponse({ type: OrdersPageResponse })
  @ApiInvalidQueryResponse()
  async search(@Query() query: OrdersQuery): Promise<Page<ReturnType<typeof summaryResponse>>> {
    const limit = query.limit ?? DEFAULT_PAGE;
    const rows = await this.orders.search({ ...searchOf(query), limit: limit + 1 });
    const items = rows.slice(0, limit);
    const last = items.at(-1);
    return {
      items: items.map(summaryResponse),
      nextCursor: rows.length > limit && last ? encodeCursor(last.createdAt.toISOString(), last.id) : null,
    };
  }

  /** The same search as CSV (at most 10 000 rows, newest first). The export is audited. */
  @Get('export.csv')
  @StaffOnly(StaffRole.Viewer)
  @ApiInvalidQueryResponse()
  @ApiOkResponse({
    description: 'id,created_at,status,customer_email,currency,total_amount,refunded_amount,…',
    content: { 'text/csv': { schema: { type: 'string' } } },
  })
  async exportCsv(
    @Query() query: OrdersQuery,
    @Staff() staff: StaffPrincipal,
    @Res({ passthrough: true }) response: Response,
  ): Promise<string> {
    const rows = await this.orders.search({ ...searchOf(query), limit: CSV_EXPORT_LIMIT });
    await this.audit.record(staff, {
      action: 'orders.export',
      after: { filters: { ...query, cursor: undefined }, rows: rows.length },
    });
    response.setHeader('Content-Type', 'text/csv; charset=utf-8');
    response.setHeader('Content-Disposition', 'attachment; filename="orders.csv"');
    const header = [
      'id',
      'created_at',
      'status',
      'customer_email',
      'currency',
      'total_amount',
      'refunded_amount',
      'needs_review',
      'dispute',
    ];
    const lines = rows.map((o) =>
      [
        o.id,
        o.createdAt.toISOString(),
        o.status,
        o.customerEmail,
        o.total.currency,
        o.total.amount,
        o.refunded.amount,
        o.needsReview,
        o.disputeState ?? '',
      ]
        .map(csvCell)
        .join(','),
    );
    return [header.join(','), ...lines].join('\r\n') + '\r\n';
  }

  /** Everything about one order: items, attempts, full history, ledger entries, refunds, disputes. */
  @Get(':id')
  @StaffOnly(StaffRole.Viewer)
  @ApiOkResponse({ type: OrderRecordResponse })
  @ApiNotFoundResponse({ description: 'No such order' })
  async record(@Param('id', ParseId) id: string): Promise<OrderRecordResponse> {
    const order = await this.orders.record(id);
    if (!order) throw new StaffOrderNotFoundError();
    const [attempts, ledger, refunds, disputes] = await Promise.all([
      this.payments.attemptsOf(id),
      this.payments.ledger({ orderId: id, limit: 500 }),
      this.payments.refundsOf(id),
      this.payments.disputesOf(id),
    ]);
    return recordResponse(order, { attempts, ledger, refunds, disputes });
  }

  /**
   * Refunds part (`amount`, minor units) or the rest (no amount) of what the order paid. Never more
   * than is left, also for concurrent requests. With an `Idempotency-Key`, the same key answers with
   * the same refund (and asks Stripe again, with the same key, if it had not answered).
   */
  @Post(':id/refunds')
  @StaffOnly(StaffRole.Operator)
  @ApiHeader({ name: 'Idempotency-Key', required: false, description: 'The same key: the same refund' })
  @ApiCreatedResponse({ type: RefundResponse })
  @ApiNotFoundResponse({ description: 'No such order' })
  @ApiConflictResponse({ description: 'Nothing paid, or everything already refunded' })
  @ApiUnprocessableEntityResponse({ description: 'More than is left to refund, or Stripe declined' })
  @ApiBadGatewayResponse({ description: 'Stripe did not answer; retry with the same Idempotency-Key' })
  async refund(
    @Param('id', ParseId) id: string,
    @Body() body: CreateRefundDto,
    @Staff() staff: StaffPrincipal,
    @Headers('idempotency-key') requestKey?: string,
  ): Promise<RefundResponse> {
    if (requestKey !== undefined && !/^[\x21-\x7e]{1,255}$/.test(requestKey)) {
      throw new RequestValidationError([
        { field: 'Idempotency-Key', message: 'Idempotency-Key must be 1 to 255 printable characters' },
      ]);
    }
    const before = await this.orders.record(id);
    try {
      const refund = await this.payments.refund(id, {
        amount: body.amount,
        reason: body.reason,
        requestKey,
        requestedBy: { id: staff.memberId, email: staff.email },
      });
      await this.audit.record(staff, {
        action: 'refund.create',
        target: { type: 'order', id },
        before: before && { status: before.status, refundedAmount: before.refunded.amount },
        after: { ...refund },
      });
      return refund;
    } catch (error) {
      if (error instanceof DomainError && before) {
        await this.audit.record(staff, {
          action: 'refund.refused',
          target: { type: 'order', id },
          before: { status: before.status, refundedAmount: before.refunded.amount },
          after: { amount: body.amount ?? null, reason: body.reason, error: error.code },
        });
      }
      throw error;
    }
  }
}

function searchOf(query: OrdersQuery): Omit<OrderSearch, 'limit'> {
  const after = decodeCursor(query.cursor);
  const afterDate = after ? new Date(String(after[0])) : null;
  if (after && (Number.isNaN(afterDate!.getTime()) || typeof after[1] !== 'string' || !isUUID(after[1]))) {
    throw new RequestValidationError([{ field: 'cursor', message: 'cursor is not one this API gave out' }]);
  }
  return {
    status: query.status,
    email: query.email,
    createdFrom: query.from ? new Date(query.from) : undefined,
    createdTo: query.to ? new Date(query.to) : undefined,
    minAmount: query.minAmount,
    maxAmount: query.maxAmount,
    after: after ? { createdAt: afterDate!, id: String(after[1]) } : undefined,
  };
}

/** RFC 4180 quoting; a cell a spreadsheet would run as a formula is prefixed with a quote. */
export function csvCell(value: string | number | boolean): string {
  let text = String(value);
  if (/^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}
