import { Migration } from '@mikro-orm/migrations';

/**
 * Refunds Stripe never confirmed are asked about again by reconciliation (`next_check_at`, with
 * backoff), and left to a person (`refund_unconfirmed` review item) once their key is too old.
 */
export class Migration20261129100000 extends Migration {
  override async up(): Promise<void> {
    this.addSql(
      `alter table "refunds" add column "next_check_at" timestamptz null, add column "checks" smallint not null default 0;`,
    );
    this.addSql(`update "refunds" set "next_check_at" = now() where "status" = 'creating';`);
    this.addSql(
      `create index "refunds_next_check_at_index" on "refunds" ("next_check_at") where "next_check_at" is not null;`,
    );
    this.addSql(`alter table "review_items" drop constraint if exists "review_items_kind_check";`);
    this.addSql(
      `alter table "review_items" add constraint "review_items_kind_check" check("kind" in ('amount_mismatch', 'paid_twice', 'paid_after_cancel', 'malformed_event', 'foreign_session', 'refund_failed', 'refund_unconfirmed', 'dispute', 'dispute_lost'));`,
    );
  }

  override async down(): Promise<void> {
    this.addSql(`delete from "review_items" where "kind" = 'refund_unconfirmed';`);
    this.addSql(`alter table "review_items" drop constraint if exists "review_items_kind_check";`);
    this.addSql(
      `alter table "review_items" add constraint "review_items_kind_check" check("kind" in ('amount_mismatch', 'paid_twice', 'paid_after_cancel', 'malformed_event', 'foreign_session', 'refund_failed', 'dispute', 'dispute_lost'));`,
    );
    this.addSql(`drop index if exists "refunds_next_check_at_index";`);
    this.addSql(`alter table "refunds" drop column "next_check_at", drop column "checks";`);
  }
}
