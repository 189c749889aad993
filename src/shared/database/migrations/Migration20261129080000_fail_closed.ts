import { Migration } from '@mikro-orm/migrations';

/**
 * Fail closed: attempts refused by Stripe or needing review, reconciliation backoff and close
 * requests; malformed webhook events kept raw; durable review items; internal history notes.
 */
export class Migration20261129080000 extends Migration {
  override async up(): Promise<void> {
    this.addSql(`alter table "payments" drop constraint if exists "payments_status_check";`);
    this.addSql(
      `alter table "payments" add constraint "payments_status_check" check ("status" in ('creating', 'open', 'processing', 'succeeded', 'failed', 'expired', 'refused', 'needs_review'));`,
    );
    this.addSql(
      `alter table "payments" add column "checks" smallint not null default 0, add column "close_requested_at" timestamptz null;`,
    );
    // Attempts awaiting Stripe's word get a first check time; reconciliation now reads only that.
    this.addSql(
      `update "payments" set "next_check_at" = "created_at" + interval '5 minutes' where "next_check_at" is null and "status" in ('creating', 'open', 'processing');`,
    );
    this.addSql(`drop index if exists "payments_awaiting_news_index";`);
    this.addSql(
      `create index "payments_due_check_index" on "payments" ("next_check_at") where "status" in ('creating', 'open', 'processing');`,
    );

    this.addSql(
      `alter table "processed_webhook_events" drop constraint if exists "processed_webhook_events_outcome_check";`,
    );
    this.addSql(
      `alter table "processed_webhook_events" add constraint "processed_webhook_events_outcome_check" check ("outcome" in ('applied', 'ignored', 'unmatched', 'mismatch', 'malformed'));`,
    );
    this.addSql(`alter table "processed_webhook_events" add column "payload" text null;`);

    this.addSql(`alter table "order_history" add column "internal" boolean not null default false;`);
    // Earlier notes (status unchanged) named sessions and review reasons: staff only from now on.
    this.addSql(
      `update "order_history" set "internal" = true where "from_status" is not distinct from "to_status";`,
    );

    this.addSql(
      `create table "review_items" ("id" uuid not null, "order_id" uuid null, "kind" text check ("kind" in ('amount_mismatch', 'paid_twice', 'paid_after_cancel', 'malformed_event', 'foreign_session')) not null, "reason" text not null, "source_ref" varchar(255) null, "created_at" timestamptz not null, "resolved_at" timestamptz null, "resolved_by" varchar(254) null, "resolution" text null, constraint "review_items_pkey" primary key ("id"));`,
    );
    this.addSql(`create index "review_items_order_id_index" on "review_items" ("order_id");`);
    this.addSql(
      `create index "review_items_open_index" on "review_items" ("created_at") where "resolved_at" is null;`,
    );
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists "review_items" cascade;`);
    this.addSql(`alter table "order_history" drop column "internal";`);
    this.addSql(`alter table "processed_webhook_events" drop column "payload";`);
    this.addSql(`alter table "payments" drop column "checks", drop column "close_requested_at";`);
  }
}
