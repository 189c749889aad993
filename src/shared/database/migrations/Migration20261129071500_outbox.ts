import { Migration } from '@mikro-orm/migrations';

/** The transactional outbox: recorded events, and one delivery row per (event, durable subscriber). */
export class Migration20261129071500 extends Migration {
  override async up(): Promise<void> {
    this.addSql(
      `create table "outbox_events" ("id" uuid not null, "name" varchar(128) not null, "payload" jsonb not null, "created_at" timestamptz not null, constraint "outbox_events_pkey" primary key ("id"));`,
    );
    this.addSql(
      `create table "outbox_deliveries" ("id" bigserial not null, "event_id" uuid not null, "subscriber" varchar(100) not null, "status" text check ("status" in ('pending', 'delivered', 'dead')) not null, "attempts" int not null default 0, "next_attempt_at" timestamptz not null, "locked_until" timestamptz null, "last_error" text null, "created_at" timestamptz not null, "delivered_at" timestamptz null, constraint "outbox_deliveries_pkey" primary key ("id"), constraint "outbox_deliveries_event_id_foreign" foreign key ("event_id") references "outbox_events" ("id") on delete cascade);`,
    );
    this.addSql(
      `alter table "outbox_deliveries" add constraint "outbox_deliveries_event_id_subscriber_unique" unique ("event_id", "subscriber");`,
    );
    // What the relay scans: only rows still to deliver.
    this.addSql(
      `create index "outbox_deliveries_due_index" on "outbox_deliveries" ("next_attempt_at") where "status" = 'pending';`,
    );
    this.addSql(
      `create index "outbox_deliveries_dead_index" on "outbox_deliveries" ("created_at") where "status" = 'dead';`,
    );
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists "outbox_deliveries" cascade;`);
    this.addSql(`drop table if exists "outbox_events" cascade;`);
  }
}
