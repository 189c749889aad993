/**
 * The Stripe sandbox's own state (src/sandbox/storage), in a schema of its own: Stripe's data is not
 * the service's. Generic JSON rows per sandbox account, kind and id; `seq` keeps the order they were
 * first written (events replay in creation order). The standalone sandbox (`npm run sandbox`)
 * applies the same statements to its own database. A file of its own, without the migrator: the
 * sandbox loads it without loading `@mikro-orm/migrations`.
 */
export const SANDBOX_SCHEMA_SQL = [
  `create schema if not exists "sandbox";`,
  `create table if not exists "sandbox"."objects" ("account" text not null, "kind" text not null, "id" text not null, "seq" bigserial not null, "data" jsonb not null, "updated_at" timestamptz not null default now(), constraint "objects_pkey" primary key ("account", "kind", "id"));`,
  `create index if not exists "objects_account_seq_index" on "sandbox"."objects" ("account", "seq");`,
];
