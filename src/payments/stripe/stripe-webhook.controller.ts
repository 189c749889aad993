import { Controller, Headers, HttpCode, HttpStatus, Post, type RawBodyRequest, Req } from '@nestjs/common';
import { ApiBadRequestResponse, ApiHeader, ApiOkResponse, ApiTags } from '@nestjs/swagger';
import type { Request } from 'express';
import { WebhookSignatureError } from '../payment.errors';
import { PaymentEventsService } from '../payment-events.service';

@ApiTags('webhooks')
@Controller('webhooks/stripe')
export class StripeWebhookController {
  constructor(private readonly paymentEvents: PaymentEventsService) {}

  /**
   * Stripe's signed events. 200 once the effect is committed (or was committed before: duplicates);
   * 400 for a bad signature, with nothing written; 5xx when something failed, so that Stripe retries.
   */
  @Post()
  @HttpCode(HttpStatus.OK)
  @ApiHeader({ name: 'Stripe-Signature', required: true })
  @ApiOkResponse({
    description: 'Received: applied, duplicate, ignored, unmatched or mismatch',
    schema: {
      type: 'object',
      required: ['received', 'outcome'],
      properties: { received: { type: 'boolean', enum: [true] }, outcome: { type: 'string' } },
    },
  })
  @ApiBadRequestResponse({ description: 'Missing, malformed, stale or wrong signature' })
  async receive(
    @Req() request: RawBodyRequest<Request>,
    @Headers('stripe-signature') signature?: string,
  ): Promise<{ received: true; outcome: string }> {
    // The raw bytes, exactly as signed: only JSON bodies are kept raw by the body parser.
    if (!request.rawBody) throw new WebhookSignatureError('Expected a JSON body signed by Stripe');
    const receipt = await this.paymentEvents.receiveWebhook(request.rawBody, signature);
    return { received: true, outcome: receipt.outcome };
  }
}
