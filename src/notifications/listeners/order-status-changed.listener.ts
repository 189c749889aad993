import { Injectable } from '@nestjs/common';
import { OrderStatusChangedEvent } from '../../orders';
import { OnDurableEvent } from '../../shared/outbox';
import { CrossInstanceLink } from '../cross-instance-link';
import { NotificationsGateway } from '../notifications.gateway';
import { OrderStatusMessage } from '../order-status.message';

/**
 * Tells the browsers following an order about each change of its status, once it has committed.
 * Durable (the outbox): a crash between the commit and the push still pushes, from whichever
 * instance relays it; with Redis away, it is retried until the other instances' followers have it
 * too. Pushing twice is harmless: clients keep the latest `updatedAt`.
 */
@Injectable()
export class OrderStatusChangedListener {
  constructor(
    private readonly gateway: NotificationsGateway,
    private readonly link: CrossInstanceLink,
  ) {}

  @OnDurableEvent(OrderStatusChangedEvent, 'notifications.push-status')
  pushStatus(event: OrderStatusChangedEvent): void {
    this.gateway.push(OrderStatusMessage.fromEvent(event));
    // This instance's followers have it; those of the others get it once Redis is back (a retry).
    if (this.link.isDown) throw new Error('Redis is unavailable: the push did not reach the other instances');
  }
}
