import { Body, Controller, Get, HttpCode, HttpStatus, Param, Post, UseGuards } from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiConflictResponse,
  ApiCreatedResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiTags,
  ApiTooManyRequestsResponse,
  ApiUnprocessableEntityResponse,
} from '@nestjs/swagger';
import { ThrottlerGuard } from '@nestjs/throttler';
import { BearerToken, ParseId } from '../shared/http';
import { Idempotent } from '../shared/idempotency';
import { OrderHistoryEntryResponse, OrderResponse, PlacedOrderResponse } from './dto/order.response';
import { PlaceOrderDto } from './dto/place-order.dto';
import { OrdersService } from './orders.service';

@ApiTags('orders')
@Controller('orders')
export class OrdersController {
  constructor(private readonly orders: OrdersService) {}

  @Post()
  @UseGuards(ThrottlerGuard)
  @Idempotent()
  @ApiCreatedResponse({ type: PlacedOrderResponse })
  @ApiTooManyRequestsResponse({
    description: 'RATE_LIMIT_PER_MINUTE reached for this client: retry after Retry-After s',
  })
  @ApiUnprocessableEntityResponse({ description: 'Unknown product, or items in different currencies' })
  async place(@Body() body: PlaceOrderDto): Promise<PlacedOrderResponse> {
    const { order, accessToken } = await this.orders.place(body);
    return { ...OrderResponse.from(order), accessToken };
  }

  @Get(':id')
  @ApiBearerAuth()
  @ApiOkResponse({ type: OrderResponse })
  @ApiNotFoundResponse({ description: 'Unknown order, or a missing or wrong token' })
  async get(@Param('id', ParseId) id: string, @BearerToken() token?: string): Promise<OrderResponse> {
    return OrderResponse.from(await this.orders.findForCustomer(id, token));
  }

  @Get(':id/history')
  @ApiBearerAuth()
  @ApiOkResponse({ type: [OrderHistoryEntryResponse] })
  @ApiNotFoundResponse({ description: 'Unknown order, or a missing or wrong token' })
  async history(
    @Param('id', ParseId) id: string,
    @BearerToken() token?: string,
  ): Promise<OrderHistoryEntryResponse[]> {
    const entries = await this.orders.historyForCustomer(id, token);
    return entries.map((entry) => OrderHistoryEntryResponse.from(entry));
  }

  @Post(':id/cancel')
  @HttpCode(HttpStatus.OK)
  @Idempotent({ safeToRepeat: true })
  @ApiBearerAuth()
  @ApiOkResponse({ type: OrderResponse })
  @ApiConflictResponse({ description: 'Already paid, or a payment is being settled' })
  async cancel(@Param('id', ParseId) id: string, @BearerToken() token?: string): Promise<OrderResponse> {
    return OrderResponse.from(await this.orders.cancel(id, token));
  }
}
