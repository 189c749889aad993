import { Entity, PrimaryKey, Property } from '@mikro-orm/core';

/** A paid order to ship: one per order, written by the `orders.paid` reaction. */
@Entity({ tableName: 'fulfilment_requests' })
export class FulfilmentRequest {
  @PrimaryKey({ type: 'uuid' })
  readonly orderId!: string;

  /** The `orders.paid` event it came from. */
  @Property({ type: 'uuid' })
  readonly eventId!: string;

  @Property({ type: 'integer' })
  readonly amount!: number;

  @Property({ type: 'string', length: 3 })
  readonly currency!: string;

  @Property({ type: 'datetime' })
  readonly paidAt!: Date;

  @Property({ type: 'datetime' })
  readonly createdAt!: Date;
}
