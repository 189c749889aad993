import { randomUUID } from 'node:crypto';
import { Order } from '../../src/orders/order.entity';
import { Payment, PaymentStatus } from '../../src/payments/payment.entity';
import { combine, execute, hydrate, insertOf } from '../../src/shared/database/explicit-sql';
import { Sql } from '../../src/shared/database/sql';
import { Money } from '../../src/shared/money';
import { createTestApp, type TestApp } from '../support/app';
import { truncateAll } from '../support/db';

/**
 * The explicit statements of the hot paths (placing an order, opening a checkout) against real
 * PostgreSQL: rows as the ORM would store them, several writes in one statement,
 * and entities read back as the ORM would read them.
 */
describe('Explicit SQL (shared/database/explicit-sql.ts)', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(() => t.close());
  beforeEach(() => truncateAll(t.orm));

  const placed = () =>
    Order.place(
      ' Buyer@Example.com ',
      [
        { productId: randomUUID(), name: 'Beans', unitPrice: Money.of(1450, 'usd'), quantity: 2 },
        { productId: randomUUID(), name: 'Mug', unitPrice: Money.of(1800, 'usd'), quantity: 1 },
      ],
      { kind: 'api' },
    );

  it('stores an order, its items and its history in one statement, read back by the ORM as it was', async () => {
    const { order, accessToken } = placed();
    const em = t.em();
    await execute(
      em,
      combine([
        insertOf(em, [order]),
        insertOf(em, order.items.getItems()),
        insertOf(em, order.history.getItems()),
      ]),
    );

    const loaded = await t.em().findOneOrFail(Order, order.id, { populate: ['items', 'history'] });
    expect(loaded.grantsAccess(accessToken)).toBe(true);
    expect(loaded).toMatchObject({
      customerEmail: 'buyer@example.com',
      status: 'pending',
      statusReason: null,
      total: { amount: 4700, currency: 'usd' },
      needsReview: false,
      createdAt: order.createdAt,
      updatedAt: order.updatedAt,
    });
    expect(
      loaded.items.getItems().map((item) => [item.position, item.name, item.quantity, item.unitPrice.amount]),
    ).toEqual([
      [0, 'Beans', 2, 1450],
      [1, 'Mug', 1, 1800],
    ]);
    expect(loaded.history.getItems()).toEqual([
      expect.objectContaining({
        fromStatus: null,
        toStatus: 'pending',
        reason: 'Order placed',
        sourceKind: 'api',
      }),
    ]);
  });

  it('writes nothing at all when one part of the statement fails', async () => {
    const { order } = placed();
    const em = t.em();
    const statement = combine([
      insertOf(em, [order]),
      insertOf(em, order.items.getItems()),
      Sql.withValues(
        `insert into order_history (order_id, to_status, reason, source_kind, occurred_at) values (?, 'nonsense', 'x', 'api', now())`,
        [order.id],
      ),
    ]);
    await expect(execute(em, statement)).rejects.toThrow();
    const [{ count }] = await execute<{ count: string }>(
      t.em(),
      Sql.withValues('select count(*) from orders where id = ?', [order.id]),
    );
    expect(Number(count)).toBe(0);
  });

  it('inserts an entity only when the condition given holds, every column as the ORM stores it', async () => {
    const { order } = placed();
    const em = t.em();
    await execute(em, insertOf(em, [order]));
    const attempts = [0, 1].map(
      (index) => new Payment(order.id, index + 1, order.total, new Date(Date.now() + 3_600_000), new Date()),
    );
    for (const [index, attempt] of attempts.entries()) {
      await execute(em, insertOf(em, [attempt], Sql.raw(index === 0 ? 'false' : 'true')));
    }
    const stored = await t.em().find(Payment, { orderId: order.id });
    expect(stored.map((attempt) => attempt.id)).toEqual([attempts[1].id]);
    expect(stored[0]).toMatchObject({
      attempt: 2,
      status: attempts[1].status,
      amount: order.total,
      expiresAt: attempts[1].expiresAt,
      nextCheckAt: attempts[1].nextCheckAt,
      checks: 0,
    });
  });

  it('an entity read with explicit SQL is managed: its changes flush', async () => {
    const { order } = placed();
    const attempt = new Payment(order.id, 1, order.total, new Date(Date.now() + 3_600_000), new Date());
    const em = t.em();
    await execute(em, combine([insertOf(em, [order]), insertOf(em, [attempt])]));

    await t.em().transactional(async (tx) => {
      const [row] = await execute(
        tx,
        Sql.withValues('select * from payments where id = ? for update', [attempt.id]),
      );
      const payment = hydrate(tx, Payment, row);
      expect(payment).toMatchObject({ status: PaymentStatus.Creating, amount: order.total, attempt: 1 });
      payment.opened({
        id: 'cs_test_a',
        url: 'https://checkout.example/a',
        status: 'open',
        paymentStatus: 'unpaid',
        amount: order.total,
        orderId: order.id,
        attemptId: attempt.id,
        paymentIntentId: null,
        expiresAt: attempt.expiresAt,
      });
      // Written by the unit of work at commit, as any entity it loaded.
    });
    expect(await t.em().findOneOrFail(Payment, attempt.id)).toMatchObject({
      status: PaymentStatus.Open,
      sessionId: 'cs_test_a',
      url: 'https://checkout.example/a',
    });

    // A change not yet flushed survives a second read of the row (as with the ORM's own lookups).
    await t.em().transactional(async (tx) => {
      const read = async () => {
        const [row] = await execute(
          tx,
          Sql.withValues('select * from orders where id = ? for update', [order.id]),
        );
        return hydrate(tx, Order, row);
      };
      const first = await read();
      first.cancel({ kind: 'api' });
      const second = await read();
      expect(second).toBe(first);
      expect(second.status).toBe('canceled');
    });
    expect((await t.em().findOneOrFail(Order, order.id)).status).toBe('canceled');
  });
});
