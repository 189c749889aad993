import { Injectable, Logger } from '@nestjs/common';
import { OnEvent } from '@nestjs/event-emitter';
import { OrderStatusChangedEvent } from '../../orders';
import { NotificationsGateway } from '../notifications.gateway';
import { OrderStatusMessage } from '../order-status.message';

/** Tells the browsers following an order about each change of its status, once it has committed. */
@Injectable()
export class OrderStatusChangedListener {
  private readonly logger = new Logger(OrderStatusChangedListener.name);

  constructor(private readonly gateway: NotificationsGateway) {}

  @OnEvent(OrderStatusChangedEvent.eventName)
  pushStatus(event: OrderStatusChangedEvent): void {
    try {
      this.gateway.push(OrderStatusMessage.fromEvent(event));
    } catch (error) {
      // A lost push is recovered when the client (re)subscribes; the change itself is committed.
      this.logger.error({ err: error, orderId: event.orderId }, 'Could not push an order status');
    }
  }
}
