import { Injectable } from '@nestjs/common';
import { Money } from '../shared/money';
import { CatalogService } from './catalog.service';

/** What another module may know of a product: enough to price an order line. */
export interface PricedProduct {
  id: string;
  name: string;
  unitPrice: Money;
}

/** The catalog's read facade, for other modules. */
@Injectable()
export class CatalogReader {
  constructor(private readonly catalog: CatalogService) {}

  /** The active products among `ids`; unknown or retired ids are simply absent. */
  async findPriced(ids: readonly string[]): Promise<PricedProduct[]> {
    const products = await this.catalog.findActivePrices(ids);
    return products.map((p) => ({
      id: p.id,
      name: p.name,
      unitPrice: Money.of(p.price_amount, p.price_currency),
    }));
  }
}
