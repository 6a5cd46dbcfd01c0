// The in-memory cache of hot blobs: least recently used out first, large blobs never kept, one read per burst.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { HotCache } from '../../src/core/variants/hot-cache.js';

const meta = { contentType: 'image/jpeg', etag: '"x"' };
const bytes = (n: number, fill = 1): Buffer => Buffer.alloc(n, fill);

describe('hot cache', () => {
  it('keeps what was loaded and answers it without reading the store again', async () => {
    const cache = new HotCache({ maxBytes: 100, maxItemBytes: 50 });
    let opens = 0;
    const open = async () => {
      opens += 1;
      return bytes(10);
    };
    const first = await cache.load('a', meta, open);
    const second = await cache.load('a', meta, open);
    assert.equal(opens, 1);
    assert.equal(second.body, first.body);
    assert.deepEqual(cache.get('a')?.body, bytes(10));
  });

  it('reads a blob once however many ask for it at the same time', async () => {
    const cache = new HotCache({ maxBytes: 100, maxItemBytes: 50 });
    let opens = 0;
    const open = async () => {
      opens += 1;
      return bytes(10);
    };
    await Promise.all([cache.load('a', meta, open), cache.load('a', meta, open), cache.load('a', meta, open)]);
    assert.equal(opens, 1);
  });

  it('drops the least recently used blobs when over its size', async () => {
    const cache = new HotCache({ maxBytes: 30, maxItemBytes: 30 });
    for (const key of ['a', 'b', 'c']) await cache.load(key, meta, async () => bytes(10));
    assert.ok(cache.get('a')); // a is now the most recently used
    await cache.load('d', meta, async () => bytes(10));
    assert.equal(cache.get('b'), undefined);
    assert.ok(cache.get('a'));
    assert.ok(cache.get('c'));
    assert.ok(cache.get('d'));
    assert.deepEqual(cache.size, { items: 3, bytes: 30 });
  });

  it('serves a blob larger than its item limit but does not keep it', async () => {
    const cache = new HotCache({ maxBytes: 100, maxItemBytes: 5 });
    assert.equal(cache.admits(6), false);
    const blob = await cache.load('big', meta, async () => bytes(6));
    assert.equal(blob.body.length, 6);
    assert.equal(cache.get('big'), undefined);
  });

  it('does not keep a blob whose read failed', async () => {
    const cache = new HotCache();
    await assert.rejects(cache.load('gone', meta, async () => Promise.reject(new Error('no blob'))));
    assert.equal(cache.get('gone'), undefined);
    const blob = await cache.load('gone', meta, async () => bytes(3));
    assert.equal(blob.body.length, 3);
  });
});
