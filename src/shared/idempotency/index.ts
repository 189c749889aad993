export { Idempotent } from './idempotency.interceptor';
export { IdempotencyModule } from './idempotency.module';
export { IdempotencyEffectMarker } from './idempotency-effect.marker';
