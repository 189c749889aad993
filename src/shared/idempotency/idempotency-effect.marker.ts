import { type EventSubscriber, MikroORM, type TransactionEventArgs } from '@mikro-orm/core';
import { Injectable, type OnModuleInit } from '@nestjs/common';
import { Sql, sql, type WriteStatement } from '../database/sql';
import { idempotentRequest } from './idempotency.context';

const MARK = `update idempotency_keys set effect_committed_at = now() where key_hash = ?`;

/**
 * Marks an idempotent request's key in the first transaction of that request that commits, as part
 * of it: if the process then dies before the response is stored, a retry learns that the effect
 * happened (and is not run twice), instead of guessing.
 */
@Injectable()
export class IdempotencyEffectMarker implements EventSubscriber, OnModuleInit {
  constructor(private readonly orm: MikroORM) {}

  onModuleInit(): void {
    this.orm.em.getEventManager().registerSubscriber(this);
  }

  async beforeTransactionCommit({ em, transaction }: TransactionEventArgs): Promise<void> {
    const request = idempotentRequest.getStore();
    if (!request || request.effectCommitted) return;
    await em.getConnection().execute(MARK, [request.keyHash], 'run', transaction);
  }

  /**
   * The same mark for a change stored by one explicit statement outside an ORM transaction (which
   * runs no commit hook): a part of that statement, and what to call once it committed.
   */
  static partOfStatement(): { part: Sql | undefined; committed(): void } {
    const request = idempotentRequest.getStore();
    if (!request || request.effectCommitted) return { part: undefined, committed: () => undefined };
    return {
      part: Sql.withValues(MARK, [request.keyHash]),
      committed: () => {
        request.effectCommitted = true;
      },
    };
  }

  /**
   * The same mark as a write of the caller's write statement (it applies when its gate holds), and
   * what to call once that statement committed with its gate holding.
   */
  static writeInto(into: WriteStatement): { committed(): void } {
    const request = idempotentRequest.getStore();
    if (!request || request.effectCommitted) return { committed: () => undefined };
    into.add(sql`${Sql.withValues(MARK, [request.keyHash])} and ${into.when}`);
    return {
      committed: () => {
        request.effectCommitted = true;
      },
    };
  }

  afterTransactionCommit(): void {
    const request = idempotentRequest.getStore();
    if (request) request.effectCommitted = true;
  }
}
