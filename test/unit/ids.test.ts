// Identifiers: random ids for what people are given, time-ordered ids for the service's own records.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isUrlKey, newId, newRecordId, newUrlKey } from '../../src/core/ids.js';

const ID = /^[0-9abcdefghjkmnpqrstvwxyz]{16}$/;

describe('newRecordId', () => {
  it('has the shape of every other id', () => {
    for (let i = 0; i < 100; i += 1) assert.match(newRecordId(), ID);
    assert.match(newRecordId(0), ID);
    assert.match(newRecordId(Date.UTC(9999, 11, 31)), ID);
  });

  it('sorts in the order the records were made, across milliseconds', () => {
    const start = Date.UTC(2026, 11, 7, 15, 0, 0);
    const ids = [0, 1, 2, 999, 1000, 86_400_000, 365 * 86_400_000].map((ms) => newRecordId(start + ms));
    assert.deepEqual([...ids].sort(), ids);
    // A later millisecond sorts after whatever the counter was at.
    assert.ok(newRecordId(start + 1) > newRecordId(start));
  });

  it('never repeats within one millisecond', () => {
    const at = Date.now();
    const ids = new Set(Array.from({ length: 50_000 }, () => newRecordId(at)));
    assert.equal(ids.size, 50_000);
  });

  it('leaves newId random: consecutive ids share no time prefix', () => {
    const a = newId();
    const b = newId();
    assert.match(a, ID);
    assert.notEqual(a.slice(0, 8), b.slice(0, 8));
  });
});

describe('newUrlKey', () => {
  it('draws 16 base64url characters, never the same, across refills of its pool', () => {
    const keys = Array.from({ length: 2_000 }, () => newUrlKey());
    for (const key of keys) assert.ok(isUrlKey(key), key);
    assert.equal(new Set(keys).size, keys.length);
  });
});
