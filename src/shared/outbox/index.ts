export { OnDurableEvent, type Delivery } from './on-durable-event.decorator';
export { DeliveryStatus } from './outbox.entities';
export { OutboxModule } from './outbox.module';
export { type DeadDelivery, OutboxMonitor } from './outbox.monitor';
export { OutboxRegistry } from './outbox.registry';
export { type OutboxPart, OutboxRows } from './outbox.rows';
export { OutboxWriter } from './outbox.writer';
