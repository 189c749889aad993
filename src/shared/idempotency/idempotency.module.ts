import { MikroOrmModule } from '@mikro-orm/nestjs';
import { Global, Module } from '@nestjs/common';
import { IdempotencyKey } from './idempotency-key.entity';
import { IdempotencyEffectMarker } from './idempotency-effect.marker';
import { IdempotencyInterceptor } from './idempotency.interceptor';
import { IdempotencyStore } from './idempotency.store';

/** `Idempotency-Key` for the routes marked `@Idempotent()`; keys live in PostgreSQL. */
@Global()
@Module({
  imports: [MikroOrmModule.forFeature([IdempotencyKey])],
  providers: [IdempotencyStore, IdempotencyInterceptor, IdempotencyEffectMarker],
  exports: [IdempotencyStore, IdempotencyInterceptor],
})
export class IdempotencyModule {}
