import { Injectable } from '@nestjs/common';
import { Money } from '../shared/money';
import { CatalogService } from './catalog.service';

/** What another module may know of a product: enough to price an order line. */
export interface PricedProduct {
  id: string;
  name: string;
  unitPrice: Money;
}

/**
 * How long this instance prices with a product as it read it, before reading it again: a change to
 * the catalog (a price, a product retired) applies to new orders within this time. It saves a
 * statement on every order.
 */
export const PRICE_CACHE_MS = 5_000;

/** The catalog's read facade, for other modules. */
@Injectable()
export class CatalogReader {
  private readonly cache = new Map<string, { product: PricedProduct; until: number }>();

  constructor(private readonly catalog: CatalogService) {}

  /**
   * The active products among `ids`; unknown or retired ids are simply absent. Products read less
   * than `PRICE_CACHE_MS` ago are not read again (unknown ids always are).
   */
  async findPriced(ids: readonly string[], now = Date.now()): Promise<PricedProduct[]> {
    const missing = ids.filter((id) => (this.cache.get(id)?.until ?? 0) <= now);
    if (missing.length > 0) {
      for (const id of missing) this.cache.delete(id);
      for (const p of await this.catalog.findActivePrices(missing)) {
        const product = { id: p.id, name: p.name, unitPrice: Money.of(p.price_amount, p.price_currency) };
        this.cache.set(p.id, { product, until: now + PRICE_CACHE_MS });
      }
    }
    return ids.flatMap((id) => {
      const cached = this.cache.get(id);
      return cached ? [cached.product] : [];
    });
  }
}
