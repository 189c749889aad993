import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  IsEnum,
  IsInt,
  IsISO8601,
  IsOptional,
  IsString,
  Max,
  MaxLength,
  Min,
  MinLength,
} from 'class-validator';
import { OrderStatus } from '../../orders';
import { MAX_AMOUNT } from '../../shared/money';
import { PageQuery } from './pagination';

export class OrdersQuery extends PageQuery {
  @ApiPropertyOptional({ enum: OrderStatus })
  @IsOptional()
  @IsEnum(OrderStatus)
  status?: OrderStatus;

  @ApiPropertyOptional({ description: "Part of the customer's e-mail, any case" })
  @IsOptional()
  @IsString()
  @MaxLength(254)
  email?: string;

  @ApiPropertyOptional({ description: 'Placed at or after (ISO 8601)', example: '2026-11-29T00:00:00Z' })
  @IsOptional()
  @IsISO8601({ strict: true })
  from?: string;

  @ApiPropertyOptional({ description: 'Placed before (ISO 8601)' })
  @IsOptional()
  @IsISO8601({ strict: true })
  to?: string;

  @ApiPropertyOptional({ description: 'Total at least (minor units)' })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(0)
  @Max(MAX_AMOUNT)
  minAmount?: number;

  @ApiPropertyOptional({ description: 'Total at most (minor units)' })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(0)
  @Max(MAX_AMOUNT)
  maxAmount?: number;
}

export class OrderSummaryResponse {
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiProperty({ enum: OrderStatus }) status!: OrderStatus;
  @ApiProperty({ type: String, nullable: true }) reason!: string | null;
  @ApiProperty() customerEmail!: string;
  @ApiProperty({ example: 'usd' }) currency!: string;
  @ApiProperty({ description: 'Minor units' }) totalAmount!: number;
  @ApiProperty({ description: 'Minor units given back so far' }) refundedAmount!: number;
  @ApiProperty() needsReview!: boolean;
  @ApiProperty({ nullable: true, enum: ['open', 'won', 'lost', null] }) dispute!: string | null;
  @ApiProperty() createdAt!: Date;
  @ApiProperty() updatedAt!: Date;
}

export class OrdersPageResponse {
  @ApiProperty({ type: [OrderSummaryResponse] }) items!: OrderSummaryResponse[];
  @ApiProperty({ type: String, nullable: true }) nextCursor!: string | null;
}

export class CreateRefundDto {
  @ApiPropertyOptional({ description: 'Minor units; absent: all that is left', minimum: 1 })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(MAX_AMOUNT)
  amount?: number;

  @ApiProperty({ description: 'Why (for staff; the customer sees only the amount)', maxLength: 500 })
  @IsString()
  @MinLength(1)
  @MaxLength(500)
  reason!: string;
}

export class RefundResponse {
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiProperty({ format: 'uuid' }) orderId!: string;
  @ApiProperty({ description: 'Minor units' }) amount!: number;
  @ApiProperty() currency!: string;
  @ApiProperty() reason!: string;
  @ApiProperty({ enum: ['creating', 'pending', 'requires_action', 'succeeded', 'failed', 'canceled'] })
  status!: string;
  @ApiProperty({ type: String, nullable: true }) stripeRefundId!: string | null;
  @ApiProperty({ type: String, nullable: true }) failureReason!: string | null;
  @ApiProperty({ type: String, nullable: true, description: 'Staff e-mail; null when made at Stripe' })
  requestedBy!: string | null;
  @ApiProperty() createdAt!: Date;
  @ApiProperty() updatedAt!: Date;
}
