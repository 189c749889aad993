import { Migration } from '@mikro-orm/migrations';

/**
 * The relay's index of pending deliveries, by the moment each may be claimed: its next attempt, or
 * the end of its lease if an instance holds it (`greatest(next_attempt_at, coalesce(locked_until,
 * next_attempt_at))`). The index it replaces, by next attempt alone, made a claim read every pending
 * delivery that an instance held (a backlog in hand, a dead instance's until their leases end) to
 * find the few that were free, and the relay's timer read all of them for the earliest.
 */
export class Migration20261129230000 extends Migration {
  override async up(): Promise<void> {
    this.addSql(
      `create index "outbox_deliveries_due_at_index" on "outbox_deliveries" ((greatest("next_attempt_at", coalesce("locked_until", "next_attempt_at"))), "id") where "status" = 'pending';`,
    );
    this.addSql(`drop index if exists "outbox_deliveries_due_index";`);
  }

  override async down(): Promise<void> {
    this.addSql(
      `create index if not exists "outbox_deliveries_due_index" on "outbox_deliveries" ("next_attempt_at") where "status" = 'pending';`,
    );
    this.addSql(`drop index if exists "outbox_deliveries_due_at_index";`);
  }
}
