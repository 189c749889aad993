import { Migration } from '@mikro-orm/migrations';

/** Refunds and disputes; orders may be partially_refunded or refunded, and show a refunded total and a dispute. */
export class Migration20261129081000 extends Migration {
  override async up(): Promise<void> {
    this.addSql(
      `create table "disputes" ("id" uuid not null, "stripe_dispute_id" varchar(255) not null, "order_id" uuid not null, "payment_id" uuid not null, "amount" int not null, "currency" varchar(3) not null, "reason" varchar(64) not null, "status" varchar(32) not null, "evidence_due_by" timestamptz null, "created_at" timestamptz not null, "updated_at" timestamptz not null, constraint "disputes_pkey" primary key ("id"));`,
    );
    this.addSql(
      `alter table "disputes" add constraint "disputes_stripe_dispute_id_unique" unique ("stripe_dispute_id");`,
    );
    this.addSql(`create index "disputes_order_id_index" on "disputes" ("order_id");`);

    this.addSql(
      `create table "refunds" ("id" uuid not null, "order_id" uuid not null, "payment_id" uuid not null, "sequence" smallint not null, "amount" int not null, "currency" varchar(3) not null, "reason" text not null, "status" text check ("status" in ('creating', 'pending', 'requires_action', 'succeeded', 'failed', 'canceled')) not null, "stripe_refund_id" varchar(255) null, "failure_reason" text null, "requested_by_id" uuid null, "requested_by_email" varchar(254) null, "request_key" varchar(255) null, "created_at" timestamptz not null, "updated_at" timestamptz not null, constraint "refunds_pkey" primary key ("id"), constraint refunds_amount_check check (amount > 0));`,
    );
    this.addSql(`create index "refunds_order_id_index" on "refunds" ("order_id");`);
    this.addSql(
      `alter table "refunds" add constraint "refunds_stripe_refund_id_unique" unique ("stripe_refund_id");`,
    );
    this.addSql(
      `alter table "refunds" add constraint "refunds_order_id_request_key_unique" unique ("order_id", "request_key");`,
    );
    this.addSql(
      `alter table "refunds" add constraint "refunds_order_id_sequence_unique" unique ("order_id", "sequence");`,
    );

    this.addSql(`alter table "orders" drop constraint if exists "orders_status_check";`);

    this.addSql(`alter table "order_history" drop constraint if exists "order_history_from_status_check";`);
    this.addSql(`alter table "order_history" drop constraint if exists "order_history_to_status_check";`);

    this.addSql(
      `alter table "orders" add column "refunded_amount" int not null default 0, add column "dispute_state" varchar(8) null;`,
    );
    this.addSql(
      `alter table "orders" add constraint "orders_status_check" check("status" in ('pending', 'processing', 'paid', 'failed', 'canceled', 'partially_refunded', 'refunded'));`,
    );

    this.addSql(
      `alter table "order_history" add constraint "order_history_from_status_check" check("from_status" in ('pending', 'processing', 'paid', 'failed', 'canceled', 'partially_refunded', 'refunded'));`,
    );
    this.addSql(
      `alter table "order_history" add constraint "order_history_to_status_check" check("to_status" in ('pending', 'processing', 'paid', 'failed', 'canceled', 'partially_refunded', 'refunded'));`,
    );
    this.addSql(`alter table "review_items" drop constraint if exists "review_items_kind_check";`);
    this.addSql(
      `alter table "review_items" add constraint "review_items_kind_check" check("kind" in ('amount_mismatch', 'paid_twice', 'paid_after_cancel', 'malformed_event', 'foreign_session', 'refund_failed', 'dispute', 'dispute_lost'));`,
    );
  }

  override async down(): Promise<void> {
    this.addSql(`alter table "review_items" drop constraint if exists "review_items_kind_check";`);
    this.addSql(
      `alter table "review_items" add constraint "review_items_kind_check" check("kind" in ('amount_mismatch', 'paid_twice', 'paid_after_cancel', 'malformed_event', 'foreign_session'));`,
    );
    this.addSql(`drop table if exists "disputes" cascade;`);

    this.addSql(`drop table if exists "refunds" cascade;`);

    this.addSql(`alter table "order_history" drop constraint if exists "order_history_from_status_check";`);
    this.addSql(`alter table "order_history" drop constraint if exists "order_history_to_status_check";`);

    this.addSql(`alter table "orders" drop constraint if exists "orders_status_check";`);

    this.addSql(
      `alter table "order_history" add constraint "order_history_from_status_check" check("from_status" in ('pending', 'processing', 'paid', 'failed', 'canceled'));`,
    );
    this.addSql(
      `alter table "order_history" add constraint "order_history_to_status_check" check("to_status" in ('pending', 'processing', 'paid', 'failed', 'canceled'));`,
    );

    this.addSql(`alter table "orders" drop column "refunded_amount", drop column "dispute_state";`);

    this.addSql(
      `alter table "orders" add constraint "orders_status_check" check("status" in ('pending', 'processing', 'paid', 'failed', 'canceled'));`,
    );
  }
}
