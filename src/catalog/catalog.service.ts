import { EntityManager } from '@mikro-orm/postgresql';
import { Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { execute } from '../shared/database/explicit-sql';
import { Sql } from '../shared/database/sql';
import { DEMO_PRODUCTS } from './demo-products';
import { Product } from './product.entity';

@Injectable()
export class CatalogService implements OnApplicationBootstrap {
  private readonly logger = new Logger(CatalogService.name);

  constructor(private readonly em: EntityManager) {}

  listActive(): Promise<Product[]> {
    return this.em.find(Product, { active: true }, { orderBy: { price: { currency: 'asc' }, name: 'asc' } });
  }

  /** The active products among `ids` (UUIDs), priced; one explicit statement (on every order). */
  async findActivePrices(
    ids: readonly string[],
  ): Promise<{ id: string; name: string; price_amount: number; price_currency: string }[]> {
    if (ids.length === 0) return [];
    return execute(
      this.em,
      Sql.withValues(
        `select id, name, price_amount, price_currency from products where id in (?) and active`,
        [ids],
      ),
    );
  }

  /** Seeds the demo catalog when there is none; safe when several instances start together. */
  async onApplicationBootstrap(): Promise<void> {
    const em = this.em.fork();
    if ((await em.count(Product)) > 0) return;
    const rows = DEMO_PRODUCTS.map((p) => new Product(p.sku, p.name, p.description, p.price));
    await em.createQueryBuilder(Product).insert(rows).onConflict('sku').ignore().execute();
    this.logger.log(`Seeded ${rows.length} demo products`);
  }
}
