import { Migration } from '@mikro-orm/migrations';

/** Staff: accounts, sessions, API tokens and the audit log. */
export class Migration20261129071107 extends Migration {
  override async up(): Promise<void> {
    this.addSql(
      `create table "audit_log" ("id" bigserial primary key, "actor_id" uuid null, "actor_email" varchar(254) null, "channel" varchar(16) not null, "action" varchar(64) not null, "target_type" varchar(32) null, "target_id" varchar(255) null, "before" jsonb null, "after" jsonb null, "ip" varchar(64) null, "request_id" varchar(64) null, "occurred_at" timestamptz not null);`,
    );
    this.addSql(
      `create index "audit_log_target_type_target_id_index" on "audit_log" ("target_type", "target_id");`,
    );
    this.addSql(
      `create index "audit_log_action_occurred_at_index" on "audit_log" ("action", "occurred_at");`,
    );
    this.addSql(`create index "audit_log_occurred_at_index" on "audit_log" ("occurred_at");`);

    this.addSql(
      `create table "staff_members" ("id" uuid not null, "email" varchar(254) not null, "role" text check ("role" in ('viewer', 'operator', 'admin')) not null, "password_hash" text not null, "disabled_at" timestamptz null, "created_at" timestamptz not null, constraint "staff_members_pkey" primary key ("id"));`,
    );
    this.addSql(`alter table "staff_members" add constraint "staff_members_email_unique" unique ("email");`);

    this.addSql(
      `create table "staff_api_tokens" ("id" uuid not null, "member_id" uuid not null, "token_hash" varchar(64) not null, "created_at" timestamptz not null, "last_used_at" timestamptz null, "revoked_at" timestamptz null, constraint "staff_api_tokens_pkey" primary key ("id"));`,
    );
    this.addSql(
      `alter table "staff_api_tokens" add constraint "staff_api_tokens_token_hash_unique" unique ("token_hash");`,
    );

    this.addSql(
      `create table "staff_sessions" ("token_hash" varchar(64) not null, "member_id" uuid not null, "csrf_hash" varchar(64) not null, "created_at" timestamptz not null, "last_seen_at" timestamptz not null, "expires_at" timestamptz not null, constraint "staff_sessions_pkey" primary key ("token_hash"));`,
    );
    this.addSql(`create index "staff_sessions_expires_at_index" on "staff_sessions" ("expires_at");`);

    this.addSql(
      `alter table "staff_api_tokens" add constraint "staff_api_tokens_member_id_foreign" foreign key ("member_id") references "staff_members" ("id") on update cascade on delete cascade;`,
    );

    this.addSql(
      `alter table "staff_sessions" add constraint "staff_sessions_member_id_foreign" foreign key ("member_id") references "staff_members" ("id") on update cascade on delete cascade;`,
    );
  }

  override async down(): Promise<void> {
    this.addSql(`alter table "staff_api_tokens" drop constraint "staff_api_tokens_member_id_foreign";`);

    this.addSql(`alter table "staff_sessions" drop constraint "staff_sessions_member_id_foreign";`);

    this.addSql(`drop table if exists "audit_log" cascade;`);

    this.addSql(`drop table if exists "staff_members" cascade;`);

    this.addSql(`drop table if exists "staff_api_tokens" cascade;`);

    this.addSql(`drop table if exists "staff_sessions" cascade;`);
  }
}
