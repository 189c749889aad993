import { MikroORM } from '@mikro-orm/core';
import { PostgreSqlDriver } from '@mikro-orm/postgresql';
import type { EntityClass } from '@mikro-orm/core';

/**
 * MikroORM collections check their items against the discovered metadata, even on entities that no
 * database has seen. Unit tests discover their entities once, without connecting anywhere.
 */
export async function discoverEntities(entities: EntityClass<object>[]): Promise<MikroORM> {
  return MikroORM.init({
    driver: PostgreSqlDriver,
    dbName: 'unit',
    entities,
    connect: false,
    allowGlobalContext: true,
  });
}
