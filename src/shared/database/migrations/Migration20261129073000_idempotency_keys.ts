import { Migration } from '@mikro-orm/migrations';

/** Idempotency-Key: one row per (scope, key) hash, with the first response (encrypted) once known. */
export class Migration20261129073000 extends Migration {
  override async up(): Promise<void> {
    this.addSql(
      `create table "idempotency_keys" ("key_hash" char(64) not null, "request_hash" char(64) not null, "status" text check ("status" in ('in_flight', 'done')) not null, "response_status" smallint null, "response_body" bytea null, "locked_until" timestamptz null, "effect_committed_at" timestamptz null, "created_at" timestamptz not null, constraint "idempotency_keys_pkey" primary key ("key_hash"));`,
    );
    this.addSql(`create index "idempotency_keys_created_at_index" on "idempotency_keys" ("created_at");`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists "idempotency_keys" cascade;`);
  }
}
