export { OrderCanceledEvent } from './order-canceled.event';
export { OrderFlaggedForReviewEvent } from './order-flagged-for-review.event';
export { OrderPaidEvent } from './order-paid.event';
export { OrderPlacedEvent } from './order-placed.event';
export { OrderStatusChangedEvent } from './order-status-changed.event';
