import { EventSubscriber, MikroORM, TransactionContext, type TransactionEventArgs } from '@mikro-orm/core';
import { Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { EventEmitter2 } from '@nestjs/event-emitter';
import { eventNameOf, recordsDomainEvents } from '../domain-event';

/**
 * Publishes the domain events that aggregates recorded, once the transaction that stored them has
 * committed: a listener never hears of a change that could still roll back, and a change that
 * committed is always announced. Listeners are awaited (`emitAsync`), so when a request's response
 * leaves, its reactions have run.
 */
@Injectable()
export class AfterCommitPublisher implements EventSubscriber, OnModuleInit {
  private readonly logger = new Logger(AfterCommitPublisher.name);

  constructor(
    private readonly orm: MikroORM,
    private readonly events: EventEmitter2,
  ) {}

  onModuleInit(): void {
    this.orm.em.getEventManager().registerSubscriber(this);
  }

  async afterTransactionCommit({ em }: TransactionEventArgs): Promise<void> {
    const events = [...em.getUnitOfWork().getIdentityMap()]
      .filter(recordsDomainEvents)
      .flatMap((entity) => entity.pullDomainEvents());
    if (events.length === 0) return;
    // The committed transaction is still the ambient one here; reactions get a fresh unit of work so
    // that whatever they write goes into transactions of their own.
    await TransactionContext.create(this.orm.em.fork(), async () => {
      for (const event of events) {
        try {
          await this.events.emitAsync(eventNameOf(event), event);
        } catch (error) {
          // The change is committed; a failed reaction must not make its caller believe otherwise.
          this.logger.error({ err: error, event: eventNameOf(event) }, 'An after-commit listener failed');
        }
      }
    });
  }
}
