import { SandboxStore } from './sandbox.store';
import { SandboxStorage, type StoredRow } from './storage/sandbox-storage';

/** Storage in a Map, that can be told to fail its next write. */
class MapStorage extends SandboxStorage {
  readonly rows = new Map<string, StoredRow>();
  writes: { rows: StoredRow[]; deleted: { kind: string; id: string }[] }[] = [];
  failNext = false;
  load(): Promise<StoredRow[]> {
    return Promise.resolve([...this.rows.values()].map((row) => structuredClone(row)));
  }
  write(rows: StoredRow[], deleted: { kind: string; id: string }[]): Promise<void> {
    if (this.failNext) {
      this.failNext = false;
      return Promise.reject(new Error('database down'));
    }
    // The JSON the store hands over with a row is the row's data, as written.
    for (const row of rows) {
      if (row.json !== undefined && row.json !== JSON.stringify(row.data))
        throw new Error(`${row.id}: json ≠ data`);
    }
    const plain = rows.map(({ kind, id, data }) => ({ kind, id, data }));
    this.writes.push({ rows: plain, deleted });
    for (const row of plain) this.rows.set(`${row.kind}/${row.id}`, structuredClone(row));
    for (const row of deleted) this.rows.delete(`${row.kind}/${row.id}`);
    return Promise.resolve();
  }
  clear(): Promise<void> {
    this.rows.clear();
    return Promise.resolve();
  }
  describe(): string {
    return 'a map';
  }
}

const product = (id: string, name: string) => ({ id, created: 1, name, description: null, metadata: {} });

describe('SandboxStore', () => {
  it('writes what was set, fetched and changed, or touched; skips what did not change', async () => {
    const storage = new MapStorage();
    const store = new SandboxStore(storage);
    store.products.set('prod_1', product('prod_1', 'Beans'));
    store.products.set('prod_2', product('prod_2', 'Mug'));
    await store.flush();
    expect(storage.writes.at(-1)?.rows.map((r) => r.id)).toEqual(['prod_1', 'prod_2']);

    store.products.get('prod_1')!.name = 'Espresso beans';
    store.products.get('prod_2'); // read, unchanged
    await store.flush();
    expect(storage.writes.at(-1)?.rows).toEqual([
      { kind: 'product', id: 'prod_1', data: product('prod_1', 'Espresso beans') },
    ]);

    const held = [...store.products.values()][1];
    held.name = 'Blue mug';
    store.products.touch(held);
    store.products.delete('prod_1');
    await store.flush();
    expect(storage.writes.at(-1)).toEqual({
      rows: [{ kind: 'product', id: 'prod_2', data: product('prod_2', 'Blue mug') }],
      deleted: [{ kind: 'product', id: 'prod_1' }],
    });

    const reloaded = new SandboxStore(storage);
    await reloaded.load();
    expect([...reloaded.products.values()]).toEqual([product('prod_2', 'Blue mug')]);
  });

  it('runs after-flush callbacks only once the changes are stored; a failed write keeps both for the next flush', async () => {
    const storage = new MapStorage();
    const store = new SandboxStore(storage);
    const published: string[] = [];
    store.products.set('prod_1', product('prod_1', 'Beans'));
    store.afterNextFlush(() => published.push('event for prod_1'));
    storage.failNext = true;
    await expect(store.flush()).rejects.toThrow('database down');
    expect(published).toEqual([]);
    expect(storage.rows.size).toBe(0);

    await store.flush();
    expect(published).toEqual(['event for prod_1']);
    expect([...storage.rows.keys()]).toEqual(['product/prod_1']);
  });

  it('keeps events without their parsed copy, and parses them again at load', async () => {
    const storage = new MapStorage();
    const store = new SandboxStore(storage);
    const body = JSON.stringify({ id: 'evt_1', object: 'event', type: 'product.created' });
    store.events.set('evt_1', {
      id: 'evt_1',
      type: 'product.created',
      created: 1,
      objectId: 'prod_1',
      body,
      json: JSON.parse(body) as Record<string, unknown>,
      deliveries: [],
    });
    await store.flush();
    expect(storage.rows.get('event/evt_1')?.data).not.toHaveProperty('json');
    const reloaded = new SandboxStore(storage);
    await reloaded.load();
    expect(reloaded.events.get('evt_1')?.json).toEqual({
      id: 'evt_1',
      object: 'event',
      type: 'product.created',
    });
  });

  it('removes what a refused request created before it failed, and keeps what it changed before', async () => {
    const storage = new MapStorage();
    const store = new SandboxStore(storage);
    store.products.set('prod_1', product('prod_1', 'Beans'));
    expect(() =>
      store.undoCreationsOnError(() => {
        store.products.set('prod_2', product('prod_2', 'Inline product'));
        store.products.set('prod_1', product('prod_1', 'Beans (again)'));
        throw new Error('line_items[1][quantity] is invalid');
      }),
    ).toThrow('line_items[1][quantity]');
    expect([...store.products.values()].map((p) => p.id)).toEqual(['prod_1']);
    await store.flush();
    expect([...storage.rows.keys()]).toEqual(['product/prod_1']);
  });
});
