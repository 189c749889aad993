import { Migration } from '@mikro-orm/migrations';

/** Payments: checkout attempts and the processed-webhook-event ledger. */
export class Migration20261126200703 extends Migration {
  override async up(): Promise<void> {
    this.addSql(
      `create table "payments" ("id" uuid not null, "order_id" uuid not null, "attempt" smallint not null, "status" text check ("status" in ('creating', 'open', 'processing', 'succeeded', 'failed', 'expired')) not null default 'creating', "amount" int not null, "currency" varchar(3) not null, "expires_at" timestamptz not null, "session_id" varchar(255) null, "url" text null, "payment_intent_id" varchar(255) null, "failure_code" varchar(64) null, "failure_message" text null, "next_check_at" timestamptz null, "created_at" timestamptz not null, "updated_at" timestamptz not null, constraint "payments_pkey" primary key ("id"), constraint payments_attempt_check check (attempt > 0), constraint payments_amount_check check (amount >= 0));`,
    );
    this.addSql(`alter table "payments" add constraint "payments_session_id_unique" unique ("session_id");`);
    this.addSql(`create index "payments_payment_intent_id_index" on "payments" ("payment_intent_id");`);
    this.addSql(
      `create index "payments_awaiting_news_index" on "payments" ("created_at") where "status" in ('open', 'processing');`,
    );
    this.addSql(
      `alter table "payments" add constraint "payments_order_id_attempt_unique" unique ("order_id", "attempt");`,
    );

    this.addSql(
      `create table "processed_webhook_events" ("id" varchar(255) not null, "type" varchar(128) not null, "outcome" text check ("outcome" in ('applied', 'ignored', 'unmatched', 'mismatch')) null, "order_id" uuid null, "detail" text null, "deliveries" int not null, "received_at" timestamptz not null, "last_delivery_at" timestamptz not null, constraint "processed_webhook_events_pkey" primary key ("id"));`,
    );
    this.addSql(
      `create index "processed_webhook_events_order_id_index" on "processed_webhook_events" ("order_id");`,
    );
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists "payments" cascade;`);

    this.addSql(`drop table if exists "processed_webhook_events" cascade;`);
  }
}
