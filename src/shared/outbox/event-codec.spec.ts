import { OrderStatusChangedEvent } from '../../orders/events';
import { OrderStatus } from '../../orders/order-status';
import { decodeEvent, encodeEvent } from './event-codec';

describe('outbox event codec', () => {
  it('gives back an instance of the class with the same fields, dates as Dates', () => {
    const updatedAt = new Date('2026-11-29T07:30:00.123Z');
    const event = new OrderStatusChangedEvent('o-1', OrderStatus.Paid, OrderStatus.Pending, null, updatedAt);
    const back = decodeEvent(OrderStatusChangedEvent, encodeEvent(event));
    expect(back).toBeInstanceOf(OrderStatusChangedEvent);
    expect(back).toEqual(event);
    expect(back.updatedAt).toBeInstanceOf(Date);
    expect(back.updatedAt.getTime()).toBe(updatedAt.getTime());
  });

  it('reads the JSON PostgreSQL hands back (an object, not text)', () => {
    const event = new OrderStatusChangedEvent('o-2', OrderStatus.Failed, null, 'Declined', new Date(0));
    const back = decodeEvent(OrderStatusChangedEvent, JSON.parse(encodeEvent(event)) as object);
    expect(back).toEqual(event);
  });

  it('leaves a string that merely looks like a date alone', () => {
    const event = new OrderStatusChangedEvent(
      'o-3',
      OrderStatus.Failed,
      null,
      '2026-01-01T00:00:00.000Z',
      new Date(0),
    );
    expect(decodeEvent(OrderStatusChangedEvent, encodeEvent(event)).reason).toBe('2026-01-01T00:00:00.000Z');
  });
});
