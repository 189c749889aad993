import { Controller, Get } from '@nestjs/common';
import { ApiOkResponse, ApiProperty, ApiTags } from '@nestjs/swagger';
import { OrdersReader } from '../../orders';
import { PaymentsAdmin } from '../../payments';
import { StaffOnly } from '../staff-auth.guard';
import { StaffRole } from '../staff-role';

/** Ledger outcomes that mean an event did not do what it was sent for. */
const FAILED_OUTCOMES = new Set(['unmatched', 'mismatch', 'malformed']);

export class MoneyByCurrency {
  @ApiProperty({ example: 'usd' }) currency!: string;
  @ApiProperty() orders!: number;
  @ApiProperty({ description: 'Minor units' }) amount!: number;
}

export class DashboardResponse {
  @ApiProperty({ type: [MoneyByCurrency], description: 'Orders paid since midnight UTC' })
  paidToday!: MoneyByCurrency[];
  @ApiProperty({ type: [MoneyByCurrency], description: 'Orders paid in the last 30 days' })
  revenue30Days!: MoneyByCurrency[];
  @ApiProperty() openReviewItems!: number;
  @ApiProperty({
    description: 'Webhook events in the last 24 h that were unmatched, a mismatch or malformed',
  })
  webhookFailures24h!: number;
  @ApiProperty() webhookEvents24h!: number;
}

@ApiTags('staff')
@Controller('admin/dashboard')
export class DashboardController {
  constructor(
    private readonly orders: OrdersReader,
    private readonly payments: PaymentsAdmin,
  ) {}

  /** The console's front page, in one call. */
  @Get()
  @StaffOnly(StaffRole.Viewer)
  @ApiOkResponse({ type: DashboardResponse })
  async summary(): Promise<DashboardResponse> {
    const now = Date.now();
    const midnight = new Date(new Date(now).toISOString().slice(0, 10) + 'T00:00:00Z');
    const [paidToday, revenue30Days, openReviewItems, counts] = await Promise.all([
      this.orders.paidSince(midnight),
      this.orders.paidSince(new Date(now - 30 * 86_400_000)),
      this.payments.openReviewCount(),
      this.payments.counts(new Date(now - 86_400_000)),
    ]);
    return {
      paidToday,
      revenue30Days,
      openReviewItems,
      webhookFailures24h: counts.webhooksSince
        .filter((row) => row.outcome !== null && FAILED_OUTCOMES.has(row.outcome))
        .reduce((sum, row) => sum + row.count, 0),
      webhookEvents24h: counts.webhooksSince.reduce((sum, row) => sum + row.count, 0),
    };
  }
}
