export * from './events';
export { OpenCheckouts } from './open-checkouts';
export { type LockedOrder, OrderAccess, type PayableOrder } from './order-access.port';
export { PaymentsModule } from './payments.module';
