import { Body, Controller, HttpCode, HttpStatus, Param, Post, UseGuards } from '@nestjs/common';
import {
  ApiBadGatewayResponse,
  ApiBearerAuth,
  ApiConflictResponse,
  ApiCreatedResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiTags,
  ApiTooManyRequestsResponse,
} from '@nestjs/swagger';
import { ThrottlerGuard } from '@nestjs/throttler';
import { BearerToken, ParseId } from '../shared/http';
import { Idempotent } from '../shared/idempotency';
import { CheckoutResponse, ConfirmCheckoutDto, OrderStatusResponse } from './dto/checkout.dto';
import { PaymentsService } from './payments.service';

@ApiTags('payments')
@ApiBearerAuth()
@Controller('orders/:id/checkout')
export class CheckoutController {
  constructor(private readonly payments: PaymentsService) {}

  @Post()
  @UseGuards(ThrottlerGuard)
  @Idempotent({ safeToRepeat: true })
  @ApiCreatedResponse({ type: CheckoutResponse, description: 'A new session, or the one still open' })
  @ApiTooManyRequestsResponse({
    description: 'RATE_LIMIT_PER_MINUTE reached for this client: retry after Retry-After s',
  })
  @ApiNotFoundResponse({ description: 'Unknown order, or a missing or wrong token' })
  @ApiConflictResponse({ description: 'The order is paid, being settled, or canceled' })
  @ApiBadGatewayResponse({ description: 'Stripe failed or timed out; the order stays payable: retry' })
  async start(@Param('id', ParseId) id: string, @BearerToken() token?: string): Promise<CheckoutResponse> {
    return CheckoutResponse.from(await this.payments.startCheckout(id, token));
  }

  @Post('confirm')
  @HttpCode(HttpStatus.OK)
  @ApiOkResponse({ type: OrderStatusResponse, description: 'The order once the session has been applied' })
  @ApiNotFoundResponse({ description: 'Unknown order or session, or a missing or wrong token' })
  @ApiBadGatewayResponse({ description: 'Stripe failed or timed out; the webhook will still tell' })
  async confirm(
    @Param('id', ParseId) id: string,
    @Body() body: ConfirmCheckoutDto,
    @BearerToken() token?: string,
  ): Promise<OrderStatusResponse> {
    return OrderStatusResponse.from(await this.payments.confirmCheckout(id, token, body.sessionId));
  }
}
