import { ApiProperty } from '@nestjs/swagger';
import { Matches } from 'class-validator';
import type { PayableOrder } from '../order-access.port';
import type { CheckoutView } from '../payments.service';

export class CheckoutResponse {
  @ApiProperty({ example: 'cs_test_a1B2c3…' }) sessionId!: string;
  @ApiProperty({ description: "Stripe's hosted checkout page: send the customer there" }) url!: string;
  @ApiProperty() expiresAt!: Date;

  static from(view: CheckoutView): CheckoutResponse {
    return { sessionId: view.sessionId, url: view.url, expiresAt: view.expiresAt };
  }
}

export class ConfirmCheckoutDto {
  @ApiProperty({ description: 'The session_id Stripe put in the success URL', example: 'cs_test_a1B2c3…' })
  @Matches(/^cs_[A-Za-z0-9_]{1,250}$/, { message: 'sessionId must be a Checkout Session id (cs_…)' })
  sessionId!: string;
}

/** What the customer's page shows: the same fields as the Socket.IO `order.status` push. */
export class OrderStatusResponse {
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiProperty({ description: "The order's status, as GET /api/orders/:id shows it", example: 'paid' })
  status!: string;
  @ApiProperty({ type: String, nullable: true }) reason!: string | null;
  @ApiProperty() updatedAt!: Date;

  static from(order: PayableOrder): OrderStatusResponse {
    return { id: order.id, status: order.status, reason: order.reason, updatedAt: order.updatedAt };
  }
}
