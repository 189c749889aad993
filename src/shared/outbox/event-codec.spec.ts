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

  it('tags dates inside nested fields too', () => {
    const at = new Date('2026-11-29T07:30:00.123Z');
    const event = Object.assign(new OrderStatusChangedEvent('o-4', OrderStatus.Paid, null, null, at), {
      lines: [{ at, note: 'x' }],
      totals: { paidAt: at, amount: 100 },
    });
    const back = decodeEvent(OrderStatusChangedEvent, encodeEvent(event)) as typeof event;
    expect(back).toEqual(event);
    expect(back.lines[0].at).toBeInstanceOf(Date);
    expect(back.totals.paidAt).toBeInstanceOf(Date);
  });

  it('encodes a flat event as the nested form would', () => {
    const event = new OrderStatusChangedEvent('o-5', OrderStatus.Paid, null, 'r', new Date(5));
    const nested = Object.assign(Object.create(OrderStatusChangedEvent.prototype) as object, event, {
      extra: { n: 1 },
    });
    expect(JSON.parse(encodeEvent(nested))).toEqual({ ...JSON.parse(encodeEvent(event)), extra: { n: 1 } });
  });
});
