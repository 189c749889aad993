export * from './events';
export {
  type DisputeState,
  OrderStatus,
  type TransitionSource,
  type TransitionSourceKind,
} from './order-status';
export { OrdersModule } from './orders.module';
export {
  type OrderRecord,
  type OrderSearch,
  OrdersReader,
  type OrderSnapshot,
  type OrderSummary,
} from './orders.reader';
