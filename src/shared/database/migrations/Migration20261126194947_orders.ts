import { Migration } from '@mikro-orm/migrations';

/** Catalog and orders: products, orders with their items and history. */
export class Migration20261126194947 extends Migration {
  override async up(): Promise<void> {
    this.addSql(
      `create table "orders" ("id" uuid not null, "customer_email" varchar(254) not null, "status" text check ("status" in ('pending', 'processing', 'paid', 'failed', 'canceled')) not null default 'pending', "status_reason" text null, "total_amount" int not null check ("total_amount" >= 0), "total_currency" varchar(3) not null, "access_token_hash" varchar(64) not null, "needs_review" boolean not null default false, "review_reason" text null, "created_at" timestamptz not null, "updated_at" timestamptz not null, constraint "orders_pkey" primary key ("id"));`,
    );

    this.addSql(
      `create table "order_history" ("id" bigserial primary key, "order_id" uuid not null, "from_status" text check ("from_status" in ('pending', 'processing', 'paid', 'failed', 'canceled')) null, "to_status" text check ("to_status" in ('pending', 'processing', 'paid', 'failed', 'canceled')) not null, "reason" text not null, "source_kind" varchar(32) not null, "source_ref" varchar(255) null, "occurred_at" timestamptz not null);`,
    );
    this.addSql(`create index "order_history_order_id_id_index" on "order_history" ("order_id", "id");`);

    this.addSql(
      `create table "order_items" ("id" uuid not null, "order_id" uuid not null, "product_id" uuid not null, "name" varchar(200) not null, "quantity" int not null check ("quantity" > 0), "unit_amount" int not null check ("unit_amount" >= 0), "unit_currency" varchar(3) not null, "position" smallint not null, constraint "order_items_pkey" primary key ("id"));`,
    );
    this.addSql(`create index "order_items_order_id_index" on "order_items" ("order_id");`);

    this.addSql(
      `create table "products" ("id" uuid not null, "sku" varchar(64) not null, "name" varchar(200) not null, "description" text not null, "price_amount" int not null check ("price_amount" >= 0), "price_currency" varchar(3) not null, "active" boolean not null default true, "created_at" timestamptz not null, constraint "products_pkey" primary key ("id"));`,
    );
    this.addSql(`alter table "products" add constraint "products_sku_unique" unique ("sku");`);

    this.addSql(
      `alter table "order_history" add constraint "order_history_order_id_foreign" foreign key ("order_id") references "orders" ("id") on update cascade on delete cascade;`,
    );

    this.addSql(
      `alter table "order_items" add constraint "order_items_order_id_foreign" foreign key ("order_id") references "orders" ("id") on update cascade on delete cascade;`,
    );
  }
}
