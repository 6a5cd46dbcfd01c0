// The public tree's rules in the core: what is served publicly, and a record overtaken while it was being linked.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkedSettle, servedPublicly, type PublicTree } from '../../src/core/images/public-tree.js';
import type { ImageRecord } from '../../src/core/images/image.js';

const image = (patch: Partial<ImageRecord> = {}): ImageRecord =>
  ({ id: 'img1', filename: 'a.jpg', urlKey: 'k'.repeat(16), sha256: 'f'.repeat(64), visibility: 'public', status: 'ready', trashedAt: null, ...patch }) as ImageRecord;

/** A tree that records what it was asked. */
function recordingTree(): PublicTree & { calls: string[] } {
  const calls: string[] = [];
  return {
    calls,
    settle: async (i) => void calls.push(`settle ${i.visibility}`),
    withdraw: async () => void calls.push('withdraw'),
  };
}

describe('public tree rules', () => {
  it('serves publicly only public images in the library that did not fail', () => {
    assert.equal(servedPublicly(image()), true);
    assert.equal(servedPublicly(image({ status: 'processing' })), true);
    assert.equal(servedPublicly(image({ visibility: 'private' })), false);
    assert.equal(servedPublicly(image({ trashedAt: '2026-12-06T00:00:00.000Z' })), false);
    assert.equal(servedPublicly(image({ status: 'failed' })), false);
  });

  it('withdraws an entry just linked when the image was made private meanwhile', async () => {
    const tree = recordingTree();
    await checkedSettle({ getImage: async () => image({ visibility: 'private' }) }, tree)(image());
    assert.deepEqual(tree.calls, ['settle public', 'withdraw']);
  });

  it('withdraws an entry just linked when the image went to the trash meanwhile', async () => {
    const tree = recordingTree();
    await checkedSettle({ getImage: async () => undefined }, tree)(image());
    assert.deepEqual(tree.calls, ['settle public', 'withdraw']);
  });

  it('keeps an entry whose image is still public, and reads nothing again for a private one', async () => {
    const tree = recordingTree();
    let reads = 0;
    const settle = checkedSettle({ getImage: async () => (reads++, image()) }, tree);
    await settle(image());
    await settle(image({ visibility: 'private' }));
    assert.deepEqual(tree.calls, ['settle public', 'settle private']);
    assert.equal(reads, 1);
  });
});
