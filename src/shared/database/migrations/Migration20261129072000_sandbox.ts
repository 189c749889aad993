import { Migration } from '@mikro-orm/migrations';
import { SANDBOX_SCHEMA_SQL } from './sandbox-schema';

/** The Stripe sandbox's schema (`sandbox-schema.ts`). */
export class Migration20261129072000 extends Migration {
  override async up(): Promise<void> {
    for (const sql of SANDBOX_SCHEMA_SQL) this.addSql(sql);
  }

  override async down(): Promise<void> {
    this.addSql(`drop schema if exists "sandbox" cascade;`);
  }
}
