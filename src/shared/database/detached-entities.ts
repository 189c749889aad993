import { type EntityClass, type EntityData, MikroORM } from '@mikro-orm/core';
import type { EntityManager } from '@mikro-orm/postgresql';
import { Injectable } from '@nestjs/common';

/**
 * Entities built from rows of hand-written statements, the way MikroORM builds loaded entities (its
 * metadata and hydrator: column names to properties, embeddables, types), but outside any unit of
 * work: nothing tracks them and nothing flushes them. Whoever reads them writes their changes with
 * statements of its own (the webhook's explicit path).
 */
@Injectable()
export class DetachedEntities {
  /** Only its metadata, driver and factory are used; its identity map stays empty. */
  private readonly em: EntityManager;

  constructor(orm: MikroORM) {
    this.em = orm.em.fork() as EntityManager;
  }

  /** The entity in `row`, keyed by column name (as `row_to_json` gives it). */
  fromRow<T extends object>(type: EntityClass<T>, row: Record<string, unknown>): T {
    const meta = this.em.getMetadata().get<T>(type.name);
    const data = this.em.getDriver().mapResult(row as EntityData<T>, meta) as EntityData<T>;
    return this.em.getEntityFactory().create(type, data, { merge: false, newEntity: false });
  }
}
