import { MikroORM } from '@mikro-orm/core';
import { Order } from '../../src/orders/order.entity';
import { OrderStatus } from '../../src/orders/order-status';
import { DetachedEntities } from '../../src/shared/database/detached-entities';
import { createTestApp, type TestApp } from '../support/app';
import { placeOrder } from '../support/factories';

/**
 * Entities without per-instance change tracking of their fields (`untrackScalars`,
 * shared/database/orm.config.ts): their fields are plain properties, and every change still
 * reaches the database, at the flush or before a query that must see it.
 */
describe('Change tracking of entity fields', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(() => t.close());

  const fieldsOf = (entity: object) =>
    Object.entries(Object.getOwnPropertyDescriptors(entity))
      .filter(([name]) => ['customerEmail', '_status', '_statusReason', 'createdAt'].includes(name))
      .map(([name, descriptor]) => [name, 'value' in descriptor ? 'data' : 'accessor']);

  it('a loaded order, and one built from a row, hold their fields as plain data properties', async () => {
    const placed = await placeOrder(t);
    const plain = [
      ['customerEmail', 'data'],
      ['_status', 'data'],
      ['_statusReason', 'data'],
      ['createdAt', 'data'],
    ];
    const loaded = await t.em().findOneOrFail(Order, placed.id);
    expect(fieldsOf(loaded)).toEqual(plain);
    const [row] = await t.em().getConnection().execute(`select * from orders where id = ?`, [placed.id]);
    const fromRow = t.app.get(DetachedEntities).fromRow(Order, row as Record<string, unknown>);
    // Each field present, as a data property (an empty list would say nothing).
    expect([fromRow.id, fieldsOf(fromRow)]).toEqual([placed.id, plain]);
  });

  it('a changed field is written at the flush, and a query for the changed entity sees it (the identity map)', async () => {
    const placed = await placeOrder(t);
    await t.em().transactional(async (tx) => {
      const order = await tx.findOneOrFail(Order, placed.id);
      order.cancel({ kind: 'api' });
      // The same unit of work: its own instance, changed.
      expect((await tx.findOneOrFail(Order, placed.id)).status).toBe(OrderStatus.Canceled);
    });
    const [row] = await t.app
      .get(MikroORM)
      .em.getConnection()
      .execute<{ status: string }[]>(`select status from orders where id = ?`, [placed.id]);
    expect(row.status).toBe(OrderStatus.Canceled);
  });
});
