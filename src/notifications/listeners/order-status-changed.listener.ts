import { Injectable } from '@nestjs/common';
import { OrderStatusChangedEvent } from '../../orders';
import { OnDurableEvent } from '../../shared/outbox';
import { NotificationsGateway } from '../notifications.gateway';
import { OrderStatusMessage } from '../order-status.message';

/**
 * Tells the browsers following an order about each change of its status, once it has committed.
 * Durable (the outbox): a crash between the commit and the push still pushes, from whichever
 * instance relays it. Pushing twice is harmless: clients keep the latest `updatedAt`.
 */
@Injectable()
export class OrderStatusChangedListener {
  constructor(private readonly gateway: NotificationsGateway) {}

  @OnDurableEvent(OrderStatusChangedEvent, 'notifications.push-status')
  pushStatus(event: OrderStatusChangedEvent): void {
    this.gateway.push(OrderStatusMessage.fromEvent(event));
  }
}
