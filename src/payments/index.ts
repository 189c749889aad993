export * from './events';
export { OpenCheckouts } from './open-checkouts';
export { OrderAccess, type PayableOrder } from './order-access.port';
export { PaymentsModule } from './payments.module';
