import { Migration } from '@mikro-orm/migrations';

/** The worked example of a durable subscriber (src/fulfilment): shipments to prepare for paid orders. */
export class Migration20261129071600 extends Migration {
  override async up(): Promise<void> {
    this.addSql(
      `create table "fulfilment_requests" ("order_id" uuid not null, "event_id" uuid not null, "amount" int not null, "currency" varchar(3) not null, "paid_at" timestamptz not null, "created_at" timestamptz not null, constraint "fulfilment_requests_pkey" primary key ("order_id"));`,
    );
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists "fulfilment_requests" cascade;`);
  }
}
