import {
  Body,
  Controller,
  type ExecutionContext,
  ForbiddenException,
  Injectable,
  type NestInterceptor,
  Param,
  Post,
  UseGuards,
  UseInterceptors,
} from '@nestjs/common';
import { HttpCode } from '@nestjs/common';
import { ThrottlerGuard } from '@nestjs/throttler';
import { type Observable, of } from 'rxjs';
import { activate, checkServedAsDeclared } from './app.direct-routes';
import { PlaceOrderDto } from './orders';
import { BearerToken, ParseId } from './shared/http';

@Injectable()
class Stamp implements NestInterceptor {
  intercept(): never {
    throw new Error('not run');
  }
}

@Controller('parcels')
class ParcelsController {
  @Post()
  @UseGuards(ThrottlerGuard)
  send(@Body() _body: PlaceOrderDto): void {}

  @Post(':id/send')
  @UseGuards(ThrottlerGuard)
  sendOne(@Param('id', ParseId) _id: string, @BearerToken() _token?: string): void {}

  @Post('stamped')
  @UseGuards(ThrottlerGuard)
  @UseInterceptors(Stamp)
  stamped(@Body() _body: PlaceOrderDto): void {}

  @Post('quiet')
  @HttpCode(204)
  @UseGuards(ThrottlerGuard)
  quiet(@Body() _body: PlaceOrderDto): void {}

  @Post('open')
  open(@Body() _body: PlaceOrderDto): void {}
}

describe('checkServedAsDeclared: a route served ahead runs what Nest would run for it, or the service does not start', () => {
  const served = { status: 201, guards: [ThrottlerGuard], args: ['body:PlaceOrderDto'] };

  it('accepts a handler whose guards, parameters and status are the ones served', () => {
    expect(() => checkServedAsDeclared(ParcelsController, 'send', served)).not.toThrow();
    expect(() =>
      checkServedAsDeclared(ParcelsController, 'sendOne', {
        ...served,
        args: ['param:id:ParseId', 'custom:bearerToken'],
      }),
    ).not.toThrow();
  });

  it('refuses one with an interceptor, another status, another guard or other parameters', () => {
    expect(() => checkServedAsDeclared(ParcelsController, 'stamped', served)).toThrow(
      'ParcelsController.stamped is served ahead of Express (app.direct-routes.ts), which does not run its interceptors Stamp',
    );
    expect(() => checkServedAsDeclared(ParcelsController, 'quiet', served)).toThrow('status 204');
    expect(() => checkServedAsDeclared(ParcelsController, 'open', served)).toThrow('guards none');
    expect(() => checkServedAsDeclared(ParcelsController, 'sendOne', served)).toThrow(
      'parameters param:id:ParseId, custom:bearerToken',
    );
  });
});

describe('activate: the guards of a route served ahead, as Nest runs them', () => {
  const parcels = new ParcelsController();
  const request = { url: '/parcels' };
  const guard = (
    answer: (context: ExecutionContext) => boolean | Promise<boolean> | Observable<boolean>,
  ) => ({
    canActivate: answer,
  });

  it('lets the request on when every guard says yes, at once, later or as an observable', async () => {
    const seen: unknown[] = [];
    await expect(
      activate(
        [
          guard((context) => {
            seen.push(context.getType(), context.getClass(), context.getHandler());
            seen.push(context.switchToHttp().getRequest());
            return true;
          }),
          guard(() => Promise.resolve(true)),
          guard(() => of(true)),
        ],
        [request, {}, undefined],
        parcels,
        ParcelsController.prototype.send,
      ),
    ).resolves.toBeUndefined();
    expect(seen).toEqual(['http', ParcelsController, ParcelsController.prototype.send, request]);
  });

  it("refuses with Nest's 403 when a guard says no, at once or later", async () => {
    for (const no of [() => false, () => Promise.resolve(false), () => of(false)]) {
      await expect(
        activate([guard(no)], [request, {}, undefined], parcels, ParcelsController.prototype.send),
      ).rejects.toEqual(new ForbiddenException('Forbidden resource'));
    }
  });
});
