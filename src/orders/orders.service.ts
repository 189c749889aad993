import { LockMode } from '@mikro-orm/core';
import { EntityManager } from '@mikro-orm/postgresql';
import { Injectable } from '@nestjs/common';
import { CatalogReader } from '../catalog';
import { OpenCheckouts } from '../payments';
import { combine, execute, insertOf } from '../shared/database/explicit-sql';
import { IdempotencyEffectMarker } from '../shared/idempotency';
import { OutboxRows } from '../shared/outbox';
import type { PlaceOrderDto } from './dto/place-order.dto';
import type { OrderHistoryEntry } from './order-history-entry.entity';
import { Order } from './order.entity';
import { OrderNotFoundError, UnknownProductError } from './order.errors';

const BY_CUSTOMER = { kind: 'api' } as const;

@Injectable()
export class OrdersService {
  constructor(
    private readonly em: EntityManager,
    private readonly catalog: CatalogReader,
    private readonly checkouts: OpenCheckouts,
    private readonly outbox: OutboxRows,
  ) {}

  /** Prices the items from the catalog (never from the client) and stores the new order. */
  async place(input: PlaceOrderDto): Promise<{ order: Order; accessToken: string }> {
    const products = new Map(
      (await this.catalog.findPriced(input.items.map((item) => item.productId))).map((p) => [p.id, p]),
    );
    const lines = input.items.map((item, index) => {
      const product = products.get(item.productId);
      if (!product) throw new UnknownProductError(item.productId, `items[${index}].productId`);
      return {
        productId: product.id,
        name: product.name,
        unitPrice: product.unitPrice,
        quantity: item.quantity,
      };
    });
    const placed = Order.place(input.customerEmail, lines, BY_CUSTOMER);
    await this.insert(placed.order);
    return placed;
  }

  /**
   * Stores a new order in one statement, which commits whole or not at all: the order, its items,
   * its first history row, the outbox rows of the events it recorded, and the mark of the request's
   * Idempotency-Key (what an ORM transaction's commit hooks would write, in one round trip instead
   * of eight).
   */
  private async insert(order: Order): Promise<void> {
    const outbox = this.outbox.of(order.pullDomainEvents());
    const mark = IdempotencyEffectMarker.partOfStatement();
    await execute(
      this.em,
      combine(
        [
          insertOf(this.em, [order]),
          insertOf(this.em, order.items.getItems()),
          insertOf(this.em, order.history.getItems()),
          ...outbox.parts,
          ...(mark.part ? [mark.part] : []),
        ],
        outbox.select,
      ),
    );
    mark.committed();
    outbox.committed();
  }

  /** The order with its items, if `token` opens it; otherwise exactly as if there were no such order. */
  async findForCustomer(id: string, token: string | undefined): Promise<Order> {
    const order = await this.em.findOne(Order, id, { populate: ['items'] });
    if (!order?.grantsAccess(token)) throw new OrderNotFoundError();
    return order;
  }

  async historyForCustomer(id: string, token: string | undefined): Promise<OrderHistoryEntry[]> {
    const order = await this.em.findOne(Order, id, { populate: ['history'] });
    if (!order?.grantsAccess(token)) throw new OrderNotFoundError();
    // Internal notes (ignored reports, reviews, session ids) are for staff only.
    return order.history.getItems().filter((entry) => !entry.internal);
  }

  /**
   * Cancels an unpaid order. Its sessions that could still take money are marked to be closed in
   * the same transaction, so that their expiry at Stripe survives a crash right after the commit.
   */
  async cancel(id: string, token: string | undefined): Promise<Order> {
    const order = await this.em.transactional(async (em) => {
      const locked = await em.findOne(Order, id, { lockMode: LockMode.PESSIMISTIC_WRITE });
      if (!locked?.grantsAccess(token)) throw new OrderNotFoundError();
      locked.cancel(BY_CUSTOMER);
      await this.checkouts.closeForOrder(locked.id);
      return locked;
    });
    await this.em.populate(order, ['items']);
    return order;
  }
}
