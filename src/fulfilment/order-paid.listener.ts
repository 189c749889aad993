import { EntityManager } from '@mikro-orm/postgresql';
import { Injectable, Logger } from '@nestjs/common';
import { OrderPaidEvent } from '../orders';
import { type Delivery, OnDurableEvent } from '../shared/outbox';

/**
 * The worked example of a durable reaction (README, "Reacting to an order event, durably"): when an
 * order is paid, ask for its shipment. Delivered at least once, so the write is idempotent: a
 * second delivery of the same event (or of another `orders.paid` for the same order) changes nothing.
 */
@Injectable()
export class OrderPaidListener {
  private readonly logger = new Logger(OrderPaidListener.name);

  constructor(private readonly em: EntityManager) {}

  @OnDurableEvent(OrderPaidEvent, 'fulfilment.request-shipment')
  async requestShipment(event: OrderPaidEvent, delivery: Delivery): Promise<void> {
    const inserted = await this.em.execute<{ order_id: string }[]>(
      `insert into fulfilment_requests (order_id, event_id, amount, currency, paid_at, created_at)
       values (?, ?, ?, ?, ?, now())
       on conflict (order_id) do nothing
       returning order_id`,
      [event.orderId, delivery.eventId, event.amount, event.currency, event.paidAt],
    );
    if (inserted.length)
      this.logger.log({ orderId: event.orderId, eventId: delivery.eventId }, 'Shipment requested');
  }
}
