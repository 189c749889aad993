/**
 * The names of every migration, in order: what `mikro_orm_migrations` holds once the database is up
 * to date. Kept apart from the migration classes (`./index.ts`) so that a start on an up-to-date
 * database checks them without loading the migrator (umzug and its command-line parser). A new
 * migration goes in both lists; `migrations.spec.ts` checks that they agree.
 */
export const MIGRATION_NAMES: readonly string[] = [
  'Migration20261126194947_orders',
  'Migration20261126200703_payments',
  'Migration20261129071107_staff',
  'Migration20261129071500_outbox',
  'Migration20261129071600_fulfilment',
  'Migration20261129072000_sandbox',
  'Migration20261129073000_idempotency_keys',
  'Migration20261129080000_fail_closed',
  'Migration20261129081000_refunds',
  'Migration20261129100000_refund_checks',
  'Migration20261129230000_outbox_due_at',
];
