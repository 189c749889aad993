import { type EventSubscriber, MikroORM, type TransactionEventArgs } from '@mikro-orm/core';
import { Injectable, type OnModuleInit } from '@nestjs/common';
import { idempotentRequest } from './idempotency.context';

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
    await em
      .getConnection()
      .execute(
        `update idempotency_keys set effect_committed_at = now() where key_hash = ?`,
        [request.keyHash],
        'run',
        transaction,
      );
  }

  afterTransactionCommit(): void {
    const request = idempotentRequest.getStore();
    if (request) request.effectCommitted = true;
  }
}
