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
// Order placement is served ahead of Express, by the application's set-up (app.direct-routes.ts).
export { OrdersController } from './orders.controller';
export { PlaceOrderDto } from './dto/place-order.dto';
