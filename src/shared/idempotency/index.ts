export { Idempotent } from './idempotency.middleware';
export { IdempotencyModule } from './idempotency.module';
export { IdempotencyEffectMarker } from './idempotency-effect.marker';
