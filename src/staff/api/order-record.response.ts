import { ApiProperty } from '@nestjs/swagger';
import type { OrderRecord, OrderSummary } from '../../orders';
import type { AttemptSnapshot, DisputeSnapshot, LedgerSnapshot, RefundSnapshot } from '../../payments';
import { OrderSummaryResponse, RefundResponse } from './orders.dto';

export class StaffOrderItemResponse {
  @ApiProperty({ format: 'uuid' }) productId!: string;
  @ApiProperty() name!: string;
  @ApiProperty() quantity!: number;
  @ApiProperty() unitAmount!: number;
}

export class StaffHistoryEntryResponse {
  @ApiProperty({ type: String, nullable: true }) from!: string | null;
  @ApiProperty() to!: string;
  @ApiProperty({ description: 'Internal notes included' }) reason!: string;
  @ApiProperty() source!: string;
  @ApiProperty({ type: String, nullable: true }) sourceRef!: string | null;
  @ApiProperty({ description: 'For staff only: the customer does not see it' }) internal!: boolean;
  @ApiProperty() occurredAt!: Date;
}

export class AttemptResponse {
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiProperty() attempt!: number;
  @ApiProperty() status!: string;
  @ApiProperty() amount!: number;
  @ApiProperty() currency!: string;
  @ApiProperty({ type: String, nullable: true }) sessionId!: string | null;
  @ApiProperty({ type: String, nullable: true }) paymentIntentId!: string | null;
  @ApiProperty({ type: String, nullable: true }) failureMessage!: string | null;
  @ApiProperty() createdAt!: Date;
  @ApiProperty() expiresAt!: Date;
}

export class LedgerEntryResponse {
  @ApiProperty({ example: 'evt_1Q…' }) id!: string;
  @ApiProperty({ example: 'checkout.session.completed' }) type!: string;
  @ApiProperty({ type: String, nullable: true, example: 'applied' }) outcome!: string | null;
  @ApiProperty({ type: String, nullable: true, format: 'uuid' }) orderId!: string | null;
  @ApiProperty({ type: String, nullable: true }) detail!: string | null;
  @ApiProperty() deliveries!: number;
  @ApiProperty() receivedAt!: Date;
  @ApiProperty() lastDeliveryAt!: Date;
}

export class DisputeResponse {
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiProperty() stripeDisputeId!: string;
  @ApiProperty() amount!: number;
  @ApiProperty() currency!: string;
  @ApiProperty() reason!: string;
  @ApiProperty() status!: string;
  @ApiProperty({ nullable: true, enum: ['won', 'lost', null] }) outcome!: string | null;
  @ApiProperty({ type: String, format: 'date-time', nullable: true }) evidenceDueBy!: Date | null;
  @ApiProperty() createdAt!: Date;
  @ApiProperty() updatedAt!: Date;
}

export class OrderRecordResponse extends OrderSummaryResponse {
  @ApiProperty({ type: String, nullable: true }) reviewReason!: string | null;
  @ApiProperty({ type: [StaffOrderItemResponse] }) items!: StaffOrderItemResponse[];
  @ApiProperty({ type: [StaffHistoryEntryResponse] }) history!: StaffHistoryEntryResponse[];
  @ApiProperty({ type: [AttemptResponse] }) checkoutAttempts!: AttemptResponse[];
  @ApiProperty({ type: [LedgerEntryResponse] }) webhookEvents!: LedgerEntryResponse[];
  @ApiProperty({ type: [RefundResponse] }) refunds!: RefundResponse[];
  @ApiProperty({ type: [DisputeResponse] }) disputes!: DisputeResponse[];
}

export function summaryResponse(order: OrderSummary): OrderSummaryResponse {
  return {
    id: order.id,
    status: order.status,
    reason: order.reason,
    customerEmail: order.customerEmail,
    currency: order.total.currency,
    totalAmount: order.total.amount,
    refundedAmount: order.refunded.amount,
    needsReview: order.needsReview,
    dispute: order.disputeState,
    createdAt: order.createdAt,
    updatedAt: order.updatedAt,
  };
}

export function recordResponse(
  order: OrderRecord,
  payments: {
    attempts: AttemptSnapshot[];
    ledger: LedgerSnapshot[];
    refunds: RefundSnapshot[];
    disputes: DisputeSnapshot[];
  },
): OrderRecordResponse {
  return {
    ...summaryResponse(order),
    reviewReason: order.reviewReason,
    items: order.items.map((item) => ({
      productId: item.productId,
      name: item.name,
      quantity: item.quantity,
      unitAmount: item.unitPrice.amount,
    })),
    history: order.history.map((entry) => ({ ...entry })),
    checkoutAttempts: payments.attempts,
    webhookEvents: payments.ledger,
    refunds: payments.refunds,
    disputes: payments.disputes,
  };
}
