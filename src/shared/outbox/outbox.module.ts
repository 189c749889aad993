import { MikroOrmModule } from '@mikro-orm/nestjs';
import { Global, Module } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { OutboxDelivery, OutboxEvent } from './outbox.entities';
import { OutboxListener } from './outbox.listener';
import { OutboxMonitor } from './outbox.monitor';
import { OutboxRegistry } from './outbox.registry';
import { OutboxRelay } from './outbox.relay';
import { OutboxRows } from './outbox.rows';
import { OutboxWriter } from './outbox.writer';

/**
 * The transactional outbox: domain events that aggregates record reach their durable subscribers
 * (`@OnDurableEvent`) at least once, even across a crash. See `OutboxWriter` and `OutboxRelay`.
 */
@Global()
@Module({
  imports: [DiscoveryModule, MikroOrmModule.forFeature([OutboxEvent, OutboxDelivery])],
  providers: [OutboxRegistry, OutboxWriter, OutboxRelay, OutboxListener, OutboxMonitor, OutboxRows],
  exports: [OutboxRegistry, OutboxMonitor, OutboxRows, OutboxWriter],
})
export class OutboxModule {}
