import type { MigrationObject } from '@mikro-orm/core';
import { Migration20261126194947 } from './Migration20261126194947_orders';
import { Migration20261126200703 } from './Migration20261126200703_payments';
import { Migration20261129071107 } from './Migration20261129071107_staff';
import { Migration20261129071500 } from './Migration20261129071500_outbox';
import { Migration20261129071600 } from './Migration20261129071600_fulfilment';
import { Migration20261129072000 } from './Migration20261129072000_sandbox';
import { Migration20261129073000 } from './Migration20261129073000_idempotency_keys';
import { Migration20261129080000 } from './Migration20261129080000_fail_closed';
import { Migration20261129081000 } from './Migration20261129081000_refunds';
import { Migration20261129100000 } from './Migration20261129100000_refund_checks';
import { Migration20261129230000 } from './Migration20261129230000_outbox_due_at';

/**
 * Every migration, in order. Listed explicitly (not globbed from disk) so that the compiled service,
 * the tests and the CLI run exactly the same set. `npm run migration:create` writes a new file: add
 * it here and to `MIGRATION_NAMES` (./names.ts). Loaded only when something is to be migrated.
 */
export const migrationsList: MigrationObject[] = [
  { name: 'Migration20261126194947_orders', class: Migration20261126194947 },
  { name: 'Migration20261126200703_payments', class: Migration20261126200703 },
  { name: 'Migration20261129071107_staff', class: Migration20261129071107 },
  { name: 'Migration20261129071500_outbox', class: Migration20261129071500 },
  { name: 'Migration20261129071600_fulfilment', class: Migration20261129071600 },
  { name: 'Migration20261129072000_sandbox', class: Migration20261129072000 },
  { name: 'Migration20261129073000_idempotency_keys', class: Migration20261129073000 },
  { name: 'Migration20261129080000_fail_closed', class: Migration20261129080000 },
  { name: 'Migration20261129081000_refunds', class: Migration20261129081000 },
  { name: 'Migration20261129100000_refund_checks', class: Migration20261129100000 },
  { name: 'Migration20261129230000_outbox_due_at', class: Migration20261129230000 },
];
