import { ApiProperty } from '@nestjs/swagger';
import type { OrderHistoryEntry } from '../order-history-entry.entity';
import type { Order } from '../order.entity';
import { OrderStatus, type TransitionSourceKind } from '../order-status';

export class OrderItemResponse {
  @ApiProperty({ format: 'uuid' }) productId!: string;
  @ApiProperty() name!: string;
  @ApiProperty() quantity!: number;
  @ApiProperty({ description: 'Minor units' }) unitAmount!: number;
  @ApiProperty({ description: 'Minor units: unitAmount × quantity' }) lineAmount!: number;
}

export class OrderResponse {
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiProperty({ enum: OrderStatus }) status!: OrderStatus;
  @ApiProperty({
    type: String,
    nullable: true,
    description: 'Why the order is in its status (a decline message)',
  })
  reason!: string | null;
  @ApiProperty({ example: 'usd' }) currency!: string;
  @ApiProperty({ description: 'Minor units, computed on the server' }) totalAmount!: number;
  @ApiProperty({ description: 'Minor units given back so far (refunds that succeeded)' })
  refundedAmount!: number;
  @ApiProperty() customerEmail!: string;
  @ApiProperty({ type: [OrderItemResponse] }) items!: OrderItemResponse[];
  @ApiProperty() createdAt!: Date;
  @ApiProperty() updatedAt!: Date;

  /** Requires `order.items` to be loaded. */
  static from(order: Order): OrderResponse {
    return {
      id: order.id,
      status: order.status,
      reason: order.statusReason,
      currency: order.total.currency,
      totalAmount: order.total.amount,
      refundedAmount: order.refunded.amount,
      customerEmail: order.customerEmail,
      items: order.items.getItems().map((item) => ({
        productId: item.productId,
        name: item.name,
        quantity: item.quantity,
        unitAmount: item.unitPrice.amount,
        lineAmount: item.lineTotal.amount,
      })),
      createdAt: order.createdAt,
      updatedAt: order.updatedAt,
    };
  }
}

export class PlacedOrderResponse extends OrderResponse {
  @ApiProperty({
    description:
      'Opaque secret that opens this order (Authorization: Bearer …, and the Socket.IO handshake). Shown once.',
  })
  accessToken!: string;
}

export class OrderHistoryEntryResponse {
  @ApiProperty({
    enum: [...Object.values(OrderStatus), null],
    nullable: true,
    description: 'null for the first entry',
  })
  from!: OrderStatus | null;
  @ApiProperty({ enum: OrderStatus }) to!: OrderStatus;
  @ApiProperty() reason!: string;
  @ApiProperty({ enum: ['api', 'webhook', 'redirect', 'reconciliation'] }) source!: TransitionSourceKind;
  @ApiProperty({ type: String, nullable: true, description: 'Stripe event or session id' }) sourceRef!:
    string | null;
  @ApiProperty() occurredAt!: Date;

  static from(entry: OrderHistoryEntry): OrderHistoryEntryResponse {
    return {
      from: entry.fromStatus,
      to: entry.toStatus,
      reason: entry.reason,
      source: entry.sourceKind,
      sourceRef: entry.sourceRef,
      occurredAt: entry.occurredAt,
    };
  }
}
