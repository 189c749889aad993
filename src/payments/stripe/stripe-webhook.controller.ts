import type { IncomingMessage } from 'node:http';
import { Controller, Headers, HttpCode, HttpStatus, Post, Req } from '@nestjs/common';
import { ApiBadRequestResponse, ApiHeader, ApiOkResponse, ApiTags } from '@nestjs/swagger';
import typeis from 'type-is';
import { STRIPE_WEBHOOK_ROUTE } from '../../shared/webhook-route';
import { WebhookContentTypeError } from '../payment.errors';
import { WebhookIntake } from './webhook-intake.service';

/**
 * Stripe's webhook: this route as documented (OpenAPI) and what it does. Its requests are served
 * by the HTTP server ahead of Express (`configureApp`, `serveAhead`), which calls `receive` with the
 * raw body read as the route's middleware read it, answers `status` with its result, and hands what
 * it throws to the global exception filter, as Nest's router would.
 */
@ApiTags('webhooks')
@Controller(STRIPE_WEBHOOK_ROUTE.path)
export class StripeWebhookController {
  static readonly status = HttpStatus.OK;

  constructor(private readonly intake: WebhookIntake) {}

  /**
   * Stripe's signed events. 200 once the effect is committed (or was committed before: duplicates);
   * 400 for a bad signature, with nothing written; 5xx when something failed, so that Stripe retries.
   */
  @Post()
  @HttpCode(StripeWebhookController.status)
  @ApiHeader({ name: 'Stripe-Signature', required: true })
  @ApiOkResponse({
    description: 'Received: applied, duplicate, ignored, unmatched, mismatch, or malformed (kept for staff)',
    schema: {
      type: 'object',
      required: ['received', 'outcome'],
      properties: { received: { type: 'boolean', enum: [true] }, outcome: { type: 'string' } },
    },
  })
  @ApiBadRequestResponse({
    description:
      'Missing, malformed, stale, future-dated or wrong signature; a body that is not JSON; an event of the other mode (live/test)',
  })
  async receive(
    @Req() request: IncomingMessage & { rawBody?: Buffer },
    @Headers('stripe-signature') signature?: string,
  ): Promise<{ received: true; outcome: string }> {
    // Stripe sends JSON, and only JSON is read: a signed body of another type is refused.
    if (!typeis(request, ['application/json']) || !request.rawBody) throw new WebhookContentTypeError();
    const receipt = await this.intake.receive(request.rawBody, signature);
    return { received: true, outcome: receipt.outcome };
  }
}
