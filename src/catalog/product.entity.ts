import { randomUUID } from 'node:crypto';
import { Check, Embedded, Entity, PrimaryKey, Property } from '@mikro-orm/core';
import { Money } from '../shared/money';

/** Something the shop sells, at a price set here on the server (never taken from a client). */
@Entity({ tableName: 'products' })
@Check({ name: 'products_price_amount_check', expression: 'price_amount >= 0' })
export class Product {
  @PrimaryKey({ type: 'uuid' })
  readonly id: string = randomUUID();

  @Property({ type: 'string', length: 64, unique: true })
  readonly sku: string;

  @Property({ type: 'string', length: 200 })
  name: string;

  @Property({ type: 'text' })
  description: string;

  @Embedded(() => Money, { prefix: 'price_' })
  price: Money;

  @Property({ type: 'boolean' })
  active: boolean = true;

  @Property({ type: 'datetime' })
  readonly createdAt: Date = new Date();

  constructor(sku: string, name: string, description: string, price: Money) {
    this.sku = sku;
    this.name = name;
    this.description = description;
    this.price = price;
  }
}
