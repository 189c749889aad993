import { discoverEntities } from '../../test/support/metadata';
import { Money } from '../shared/money';
import { OrderCanceledEvent } from './events/order-canceled.event';
import { OrderFlaggedForReviewEvent } from './events/order-flagged-for-review.event';
import { OrderPaidEvent } from './events/order-paid.event';
import { OrderPlacedEvent } from './events/order-placed.event';
import { OrderStatusChangedEvent } from './events/order-status-changed.event';
import { OrderHistoryEntry } from './order-history-entry.entity';
import { OrderItem } from './order-item.entity';
import { Order, type OrderLine } from './order.entity';
import {
  MixedCurrenciesError,
  OrderNotCancelableError,
  OrderNotPayableError,
  OrderTooLargeError,
} from './order.errors';
import { OrderStatus } from './order-status';

beforeAll(() => discoverEntities([Order, OrderItem, OrderHistoryEntry]));

const API = { kind: 'api' } as const;
const WEBHOOK = { kind: 'webhook', ref: 'evt_1' } as const;

const line = (amount: number, quantity = 1, currency = 'usd'): OrderLine => ({
  productId: '4f6d80fd-285a-4e88-a626-7d0e653d206d',
  name: 'Ceramic mug',
  unitPrice: Money.of(amount, currency),
  quantity,
});

function placed(): Order {
  const { order } = Order.place('buyer@example.com', [line(1800)], API);
  order.pullDomainEvents();
  return order;
}

/** An order brought to `status` through the state machine itself. */
function orderIn(status: OrderStatus): Order {
  const order = placed();
  switch (status) {
    case OrderStatus.Pending:
      break;
    case OrderStatus.Processing:
      order.markProcessing('Awaiting bank settlement', WEBHOOK);
      break;
    case OrderStatus.Paid:
      order.markPaid('Payment confirmed', WEBHOOK);
      break;
    case OrderStatus.Failed:
      order.markFailed('Your card was declined.', WEBHOOK);
      break;
    case OrderStatus.Canceled:
      order.cancel(API);
      break;
    case OrderStatus.PartiallyRefunded:
      order.markPaid('Payment confirmed', WEBHOOK);
      order.applyRefunds(order.total, Money.of(500, 'usd'), WEBHOOK);
      break;
    case OrderStatus.Refunded:
      order.markPaid('Payment confirmed', WEBHOOK);
      order.applyRefunds(order.total, order.total, WEBHOOK);
      break;
  }
  order.pullDomainEvents();
  return order;
}

describe('Order.place', () => {
  it('totals the lines on the server and starts pending with one history entry', () => {
    const { order } = Order.place(' Buyer@Example.COM ', [line(1450, 2), line(1800)], API);
    expect(order.status).toBe(OrderStatus.Pending);
    expect(order.total.equals(Money.of(4700, 'usd'))).toBe(true);
    expect(order.customerEmail).toBe('buyer@example.com');
    expect(order.items.getItems().map((i) => i.lineTotal.amount)).toEqual([2900, 1800]);
    expect(order.history.getItems().map((h) => [h.fromStatus, h.toStatus])).toEqual([[null, 'pending']]);
    // Announced once, as placed: no status has changed yet.
    const events = order.pullDomainEvents();
    expect(events).toHaveLength(1);
    expect(events[0]).toBeInstanceOf(OrderPlacedEvent);
    expect(events[0]).toMatchObject({ orderId: order.id, totalAmount: 4700, currency: 'usd' });
  });

  it('issues an unguessable token and keeps only its hash', () => {
    const a = Order.place('a@example.com', [line(100)], API);
    const b = Order.place('a@example.com', [line(100)], API);
    expect(a.accessToken).not.toBe(b.accessToken);
    expect(a.order.grantsAccess(a.accessToken)).toBe(true);
    expect(a.order.grantsAccess(b.accessToken)).toBe(false);
    expect(a.order.grantsAccess(undefined)).toBe(false);
    expect(a.order.grantsAccess('')).toBe(false);
    expect(JSON.stringify(a.order)).not.toContain(a.accessToken);
  });

  it('refuses lines in different currencies, naming the first one at fault', () => {
    expect(() =>
      Order.place('a@example.com', [line(100), line(100, 1, 'usd'), line(100, 1, 'eur')], API),
    ).toThrow(expect.objectContaining({ constructor: MixedCurrenciesError, field: 'items[2].productId' }));
  });

  it('refuses a total over the chargeable maximum', () => {
    expect(() => Order.place('a@example.com', [line(99_999_999, 1), line(1, 1)], API)).toThrow(
      OrderTooLargeError,
    );
  });

  it('refuses an order without lines', () => {
    expect(() => Order.place('a@example.com', [], API)).toThrow(RangeError);
  });
});

type Action = 'startCheckout' | 'markProcessing' | 'markPaid' | 'markFailed' | 'cancel' | 'refund500';

const act: Record<Action, (order: Order) => void> = {
  startCheckout: (o) => o.startCheckout(API),
  markProcessing: (o) => o.markProcessing('Awaiting bank settlement', WEBHOOK),
  markPaid: (o) => o.markPaid('Payment confirmed', WEBHOOK),
  markFailed: (o) => o.markFailed('Your card has insufficient funds.', WEBHOOK),
  cancel: (o) => o.cancel(API),
  // $5.00 of the $18.00 paid given back, in all (not $5.00 more).
  refund500: (o) => o.applyRefunds(o.total, Money.of(500, 'usd'), WEBHOOK),
};

/**
 * Every action from every status: the resulting status, how many history entries it writes, whether
 * the customer is told (status changed event), or the error it raises.
 */
type Outcome =
  | { to: OrderStatus; entries: number; published: boolean; review?: true }
  | { throws: new (...a: never[]) => Error };
const { Pending, Processing, Paid, Failed, Canceled, PartiallyRefunded, Refunded } = OrderStatus;
const table: [OrderStatus, Action, Outcome][] = [
  [Pending, 'startCheckout', { to: Pending, entries: 0, published: false }],
  [Pending, 'markProcessing', { to: Processing, entries: 1, published: true }],
  [Pending, 'markPaid', { to: Paid, entries: 1, published: true }],
  [Pending, 'markFailed', { to: Failed, entries: 1, published: true }],
  [Pending, 'cancel', { to: Canceled, entries: 1, published: true }],
  [Pending, 'refund500', { to: Pending, entries: 1, published: false }],

  [Processing, 'startCheckout', { throws: OrderNotPayableError }],
  [Processing, 'markProcessing', { to: Processing, entries: 0, published: false }],
  [Processing, 'markPaid', { to: Paid, entries: 1, published: true }],
  [Processing, 'markFailed', { to: Failed, entries: 1, published: true }],
  [Processing, 'cancel', { throws: OrderNotCancelableError }],
  [Processing, 'refund500', { to: Processing, entries: 1, published: false }],

  [Paid, 'startCheckout', { throws: OrderNotPayableError }],
  [Paid, 'markProcessing', { to: Paid, entries: 1, published: false }],
  [Paid, 'markPaid', { to: Paid, entries: 0, published: false }],
  [Paid, 'markFailed', { to: Paid, entries: 1, published: false }],
  [Paid, 'cancel', { throws: OrderNotCancelableError }],
  [Paid, 'refund500', { to: PartiallyRefunded, entries: 1, published: true }],

  [Failed, 'startCheckout', { to: Pending, entries: 1, published: true }],
  [Failed, 'markProcessing', { to: Processing, entries: 1, published: true }],
  [Failed, 'markPaid', { to: Paid, entries: 1, published: true }],
  [Failed, 'markFailed', { to: Failed, entries: 1, published: true }], // a new reason is news
  [Failed, 'cancel', { to: Canceled, entries: 1, published: true }],
  [Failed, 'refund500', { to: Failed, entries: 1, published: false }],

  [Canceled, 'startCheckout', { throws: OrderNotPayableError }],
  [Canceled, 'markProcessing', { to: Canceled, entries: 1, published: false, review: true }],
  [Canceled, 'markPaid', { to: Canceled, entries: 1, published: false, review: true }],
  [Canceled, 'markFailed', { to: Canceled, entries: 1, published: false }],
  [Canceled, 'cancel', { to: Canceled, entries: 0, published: false }],
  [Canceled, 'refund500', { to: Canceled, entries: 1, published: false }], // paid after cancel, given back

  [PartiallyRefunded, 'startCheckout', { throws: OrderNotPayableError }],
  [PartiallyRefunded, 'markProcessing', { to: PartiallyRefunded, entries: 1, published: false }],
  [PartiallyRefunded, 'markPaid', { to: PartiallyRefunded, entries: 0, published: false }],
  [PartiallyRefunded, 'markFailed', { to: PartiallyRefunded, entries: 1, published: false }],
  [PartiallyRefunded, 'cancel', { throws: OrderNotCancelableError }],
  [PartiallyRefunded, 'refund500', { to: PartiallyRefunded, entries: 0, published: false }], // same total: no news

  [Refunded, 'startCheckout', { throws: OrderNotPayableError }],
  [Refunded, 'markProcessing', { to: Refunded, entries: 1, published: false }],
  [Refunded, 'markPaid', { to: Refunded, entries: 0, published: false }],
  [Refunded, 'markFailed', { to: Refunded, entries: 1, published: false }],
  [Refunded, 'cancel', { throws: OrderNotCancelableError }],
  // The total given back fell (a refund failed after it had succeeded): money is kept again.
  [Refunded, 'refund500', { to: PartiallyRefunded, entries: 1, published: true }],
];

describe('Order refunds and disputes', () => {
  it('adds partial refunds up to refunded, telling the customer the amount given back', () => {
    const order = orderIn(Paid);
    order.applyRefunds(order.total, Money.of(1250, 'usd'), WEBHOOK);
    expect(order.status).toBe(PartiallyRefunded);
    expect(order.statusReason).toBe('Refunded $12.50');
    expect(order.refunded.amount).toBe(1250);
    order.applyRefunds(order.total, Money.of(1800, 'usd'), WEBHOOK);
    expect(order).toMatchObject({ status: Refunded, statusReason: 'Refunded $18.00' });
    expect(
      order
        .pullDomainEvents()
        .filter((e) => e instanceof OrderStatusChangedEvent)
        .map((e) => [e.status, e.reason]),
    ).toEqual([
      [PartiallyRefunded, 'Refunded $12.50'],
      [Refunded, 'Refunded $18.00'],
    ]);
  });

  it('stays paid when a second payment is given back', () => {
    const order = orderIn(Paid);
    order.applyRefunds(Money.of(3600, 'usd'), Money.of(1800, 'usd'), WEBHOOK);
    expect(order.status).toBe(Paid);
    expect(order.history.getItems().at(-1)?.reason).toBe('Refunded $18.00');
  });

  it('refuses more refunded than paid, and another currency', () => {
    const order = orderIn(Paid);
    expect(() => order.applyRefunds(order.total, Money.of(1801, 'usd'), WEBHOOK)).toThrow(RangeError);
    expect(() => order.applyRefunds(order.total, Money.of(100, 'eur'), WEBHOOK)).toThrow();
    expect(order.status).toBe(Paid);
    expect(order.refunded.amount).toBe(0);
  });

  it('keeps a lost dispute on the order, with a history entry for each step', () => {
    const order = orderIn(Paid);
    order.recordDispute('open', 'Dispute opened: fraudulent, $18.00', WEBHOOK);
    order.recordDispute('lost', 'Dispute lost: $18.00', WEBHOOK);
    expect(order.disputeState).toBe('lost');
    expect(order.status).toBe(Paid);
    expect(
      order.history
        .getItems()
        .slice(-2)
        .map((h) => h.reason),
    ).toEqual(['Dispute opened: fraudulent, $18.00', 'Dispute lost: $18.00']);
  });
});

describe('Order state machine', () => {
  it('covers every status and action', () => {
    expect(table).toHaveLength(Object.values(OrderStatus).length * Object.keys(act).length);
  });

  it.each(table)('%s --%s--> %j', (from, action, outcome) => {
    const order = orderIn(from);
    const entriesBefore = order.history.length;

    if ('throws' in outcome) {
      expect(() => act[action](order)).toThrow(outcome.throws);
      expect(order.status).toBe(from);
      expect(order.history.length).toBe(entriesBefore);
      expect(order.pullDomainEvents()).toEqual([]);
      return;
    }

    act[action](order);
    expect(order.status).toBe(outcome.to);
    expect(order.history.length - entriesBefore).toBe(outcome.entries);
    const events = order.pullDomainEvents();
    const changes = events.filter((e) => e instanceof OrderStatusChangedEvent);
    expect(changes).toHaveLength(outcome.published ? 1 : 0);
    if (outcome.published)
      expect(changes[0]).toMatchObject({ orderId: order.id, status: outcome.to, previousStatus: from });
    expect(order.needsReview).toBe(outcome.review ?? false);
    expect(events.some((e) => e instanceof OrderFlaggedForReviewEvent)).toBe(outcome.review ?? false);
    // `orders.paid` exactly when the order becomes paid.
    const paid = events.filter((e) => e instanceof OrderPaidEvent);
    expect(paid).toHaveLength(outcome.published && outcome.to === Paid ? 1 : 0);
    if (paid.length) {
      expect(paid[0]).toMatchObject({
        orderId: order.id,
        amount: order.total.amount,
        currency: order.total.currency,
      });
    }
  });

  it('records the decline reason for the customer, and clears it once paid', () => {
    const order = orderIn(Pending);
    order.markFailed('Your card was declined.', WEBHOOK);
    expect(order.statusReason).toBe('Your card was declined.');
    order.markPaid('Payment confirmed', WEBHOOK);
    expect(order.status).toBe(Paid);
    expect(order.statusReason).toBeNull();
  });

  it('ignores a repeated identical failure', () => {
    const order = orderIn(Failed);
    const entries = order.history.length;
    order.markFailed('Your card was declined.', WEBHOOK);
    expect(order.history.length).toBe(entries);
    expect(order.pullDomainEvents()).toEqual([]);
  });

  it('writes who caused each transition', () => {
    const order = orderIn(Pending);
    order.markPaid('Payment confirmed', { kind: 'webhook', ref: 'evt_123' });
    const last = order.history.getItems().at(-1)!;
    expect(last).toMatchObject({
      fromStatus: Pending,
      toStatus: Paid,
      sourceKind: 'webhook',
      sourceRef: 'evt_123',
    });
  });

  it('announces a cancellation so that the open checkout can be closed', () => {
    const order = orderIn(Failed);
    order.cancel(API);
    expect(order.pullDomainEvents().some((e) => e instanceof OrderCanceledEvent)).toBe(true);
  });

  it('keeps a late failure after payment in the history without changing anything', () => {
    const order = orderIn(Paid);
    order.markFailed('Checkout expired', WEBHOOK);
    expect(order.status).toBe(Paid);
    expect(order.history.getItems().at(-1)).toMatchObject({
      fromStatus: Paid,
      toStatus: Paid,
      reason: 'Ignored, order paid: Checkout expired',
    });
  });
});
