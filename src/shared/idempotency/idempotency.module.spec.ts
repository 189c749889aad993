import { Controller, Get, Post, RequestMethod } from '@nestjs/common';
import { DiscoveryModule, DiscoveryService, MetadataScanner, Reflector } from '@nestjs/core';
import { Test } from '@nestjs/testing';
import { Idempotent } from './idempotency.middleware';
import type { IdempotencyMiddleware } from './idempotency.middleware';
import { IdempotencyModule } from './idempotency.module';

@Controller('parcels')
class ParcelsController {
  @Post()
  @Idempotent()
  send(): void {}

  @Post(':id/return')
  @Idempotent({ safeToRepeat: true })
  giveBack(): void {}

  @Get(':id')
  @Idempotent()
  read(): void {}

  @Post(':id/note')
  note(): void {}

  /** Marked, but not a route. */
  @Idempotent()
  helper(): void {}
}

@Idempotent({ safeToRepeat: true })
@Controller(['/labels/', 'stickers'])
class LabelsController {
  @Post('/')
  print(): void {}

  @Post('void')
  @Idempotent()
  void(): void {}
}

describe('IdempotencyModule: the routes it puts the middleware in front of', () => {
  it('every route marked on its handler or its controller, with its method, full path and options', async () => {
    const module = await Test.createTestingModule({
      imports: [DiscoveryModule],
      controllers: [ParcelsController, LabelsController],
    }).compile();
    const idempotency = new IdempotencyModule(
      module.get(DiscoveryService),
      module.get(MetadataScanner),
      module.get(Reflector),
      {} as IdempotencyMiddleware,
    );
    const routes = idempotency
      .idempotentRoutes()
      .map((route) => `${RequestMethod[route.method]} ${route.path} ${JSON.stringify(route.options)}`)
      .sort();
    expect(routes).toEqual([
      'GET parcels/:id {}',
      'POST labels {"safeToRepeat":true}',
      'POST labels/void {}',
      'POST parcels {}',
      'POST parcels/:id/return {"safeToRepeat":true}',
      'POST stickers {"safeToRepeat":true}',
      'POST stickers/void {}',
    ]);
    await module.close();
  });
});
