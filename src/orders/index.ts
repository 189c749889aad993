export * from './events';
export { OrderStatus, type TransitionSource, type TransitionSourceKind } from './order-status';
export { OrdersModule } from './orders.module';
export { OrdersReader, type OrderSnapshot } from './orders.reader';
