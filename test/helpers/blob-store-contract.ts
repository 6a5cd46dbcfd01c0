// The behaviour every BlobStore must share (disk, S3), registered as node:test cases for each implementation.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { PassThrough, Readable } from 'node:stream';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { isImgdError } from '../../src/core/errors.js';
import { statusOf } from '../../src/http/error-codes.js';
import type { BlobStore } from '../../src/core/storage/blob-store.js';

export interface StoreUnderTest {
  readonly store: BlobStore;
  cleanup(): Promise<void>;
}

export const PHOTO = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'exif-samples', 'jpg', 'gps', 'DSCN0010.jpg');

export async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.from(chunk as Uint8Array));
  return Buffer.concat(chunks);
}

/** A source that sends some bytes and then fails, like a client that disconnects mid-upload. */
export function failingSource(chunks: readonly Buffer[], message: string): Readable {
  return Readable.from(
    (async function* () {
      for (const chunk of chunks) yield chunk;
      throw new Error(message);
    })(),
  );
}

export function isNotFound(err: unknown): boolean {
  return isImgdError(err) && err.code === 'not_found' && statusOf(err.code) === 404;
}

async function keysUnder(store: BlobStore, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  for await (const blob of store.list(prefix)) keys.push(blob.key);
  return keys.sort();
}

export function blobStoreContract(name: string, make: () => Promise<StoreUnderTest>): void {
  describe(`${name}: the BlobStore contract`, () => {
    let subject: StoreUnderTest;
    let store: BlobStore;
    let photo: Buffer;

    before(async () => {
      subject = await make();
      store = subject.store;
      photo = await readFile(PHOTO);
    });
    after(() => subject.cleanup());

    it('publishes a local file and reads back identical bytes', async () => {
      await store.putFile('contract/photo.jpg', PHOTO);
      assert.deepEqual(await readAll(await store.get('contract/photo.jpg')), photo);
    });

    it('stores a stream of several chunks', async () => {
      const chunks = [Buffer.from('first chunk, '), Buffer.alloc(70_000, 7), Buffer.from(', last chunk')];
      await store.put('contract/stream.bin', Readable.from(chunks));
      assert.deepEqual(await readAll(await store.get('contract/stream.bin')), Buffer.concat(chunks));
    });

    it('stores an empty stream as an empty blob', async () => {
      await store.put('contract/empty.bin', Readable.from([]));
      assert.equal((await store.stat('contract/empty.bin'))?.size, 0);
      assert.equal((await readAll(await store.get('contract/empty.bin'))).length, 0);
    });

    it('returns exactly the bytes of an inclusive range', async () => {
      await store.putFile('contract/ranged.jpg', PHOTO);
      // No bytes=0-0 here: s3rver, the S3 server of the tests, answers it with the whole object.
      const cases = [
        { start: 0, end: 1 },
        { start: 7, end: 7 },
        { start: 100, end: 1099 },
        { start: photo.length - 10, end: photo.length - 1 },
      ];
      for (const range of cases) {
        const bytes = await readAll(await store.get('contract/ranged.jpg', range));
        assert.deepEqual(bytes, photo.subarray(range.start, range.end + 1), `bytes ${range.start}-${range.end}`);
      }
    });

    it('stops a range that runs past the end at the last byte', async () => {
      await store.putFile('contract/ranged-past.jpg', PHOTO);
      const bytes = await readAll(await store.get('contract/ranged-past.jpg', { start: photo.length - 5, end: photo.length + 1000 }));
      assert.deepEqual(bytes, photo.subarray(photo.length - 5));
    });

    it('states the size and modification time, and nothing for an absent key', async () => {
      await store.putFile('contract/stat.jpg', PHOTO);
      const info = await store.stat('contract/stat.jpg');
      assert.equal(info?.key, 'contract/stat.jpg');
      assert.equal(info?.size, photo.length);
      assert.ok(info?.modifiedAt instanceof Date && !Number.isNaN(info.modifiedAt.getTime()));
      assert.equal(await store.stat('contract/never-written'), undefined);
    });

    it('tells whether a key exists', async () => {
      await store.put('contract/exists.txt', Readable.from([Buffer.from('here')]));
      assert.equal(await store.exists('contract/exists.txt'), true);
      assert.equal(await store.exists('contract/not-here.txt'), false);
    });

    it('rejects a read of an absent key with not_found', async () => {
      await assert.rejects(store.get('contract/never-written'), isNotFound);
      await assert.rejects(store.get('contract/never-written', { start: 0, end: 9 }), isNotFound);
    });

    it('deletes a key, after which reads reject with not_found', async () => {
      await store.putFile('contract/doomed.jpg', PHOTO);
      await store.delete('contract/doomed.jpg');
      assert.equal(await store.exists('contract/doomed.jpg'), false);
      await assert.rejects(store.get('contract/doomed.jpg'), isNotFound);
    });

    it('deletes an absent key without complaint', async () => {
      await store.delete('contract/never-written');
      await store.delete('contract/doomed.jpg');
    });

    it('replaces the bytes of a key written twice', async () => {
      await store.put('contract/twice.txt', Readable.from([Buffer.from('old bytes')]));
      await store.put('contract/twice.txt', Readable.from([Buffer.from('new')]));
      assert.equal((await readAll(await store.get('contract/twice.txt'))).toString(), 'new');
      assert.equal((await store.stat('contract/twice.txt'))?.size, 3);
    });

    it('shows a key only once its stream has ended, and lists no unfinished write', async () => {
      const everything = await keysUnder(store, '');
      const body = new PassThrough();
      const writing = store.put('contract/slow.bin', body);
      body.write(Buffer.alloc(1024, 1));
      await nextTurn();
      assert.equal(await store.exists('contract/slow.bin'), false, 'half-written blob is visible');
      assert.deepEqual(await keysUnder(store, ''), everything, 'listing shows a write in progress');
      body.end(Buffer.alloc(1024, 2));
      await writing;
      assert.equal((await store.stat('contract/slow.bin'))?.size, 2048);
    });

    it('rejects a put whose source fails midway and stores nothing under the key', async () => {
      const source = failingSource([Buffer.alloc(64 * 1024, 3), Buffer.alloc(64 * 1024, 4)], 'client went away');
      await assert.rejects(store.put('contract/broken.bin', source), /client went away/);
      assert.equal(await store.exists('contract/broken.bin'), false);
      await assert.rejects(store.get('contract/broken.bin'), isNotFound);
      assert.deepEqual(await keysUnder(store, 'contract/broken'), []);
    });

    it('keeps the old bytes when an overwrite fails midway', async () => {
      await store.put('contract/kept.txt', Readable.from([Buffer.from('the original')]));
      await assert.rejects(store.put('contract/kept.txt', failingSource([Buffer.from('partial')], 'boom')), /boom/);
      assert.equal((await readAll(await store.get('contract/kept.txt'))).toString(), 'the original');
    });

    it('rejects a putFile of a missing local file and stores nothing', async () => {
      await assert.rejects(store.putFile('contract/ghost.jpg', path.join(path.dirname(PHOTO), 'no-such-file.jpg')));
      assert.equal(await store.exists('contract/ghost.jpg'), false);
    });

    it('treats a folder of other keys as no blob', async () => {
      await store.put('contract/folder/inside.txt', Readable.from([Buffer.from('x')]));
      assert.equal(await store.stat('contract/folder'), undefined);
      assert.equal(await store.exists('contract/folder'), false);
      await assert.rejects(store.get('contract/folder'), isNotFound);
      await store.delete('contract/folder');
      assert.equal(await store.exists('contract/folder/inside.txt'), true);
    });

    it('treats a key below another blob as absent', async () => {
      await store.put('contract/leaf.txt', Readable.from([Buffer.from('a blob, not a folder')]));
      assert.equal(await store.stat('contract/leaf.txt/below'), undefined);
      assert.equal(await store.exists('contract/leaf.txt/below'), false);
      await assert.rejects(store.get('contract/leaf.txt/below'), isNotFound);
      await store.delete('contract/leaf.txt/below');
      assert.deepEqual(await keysUnder(store, 'contract/leaf.txt/'), []);
    });

    it('lists every blob under a prefix, nested ones too, with sizes', async () => {
      const written = new Map<string, number>();
      for (let i = 0; i < 7; i += 1) {
        const key = `listing/a/${i % 2 === 0 ? 'even' : 'odd'}/${String(i).padStart(3, '0')}`;
        const bytes = Buffer.alloc(i + 1, i);
        await store.put(key, Readable.from([bytes]));
        written.set(key, bytes.length);
      }
      await store.put('listing/ab/outside', Readable.from([Buffer.from('not under listing/a/')]));
      await store.put('listing/b/outside', Readable.from([Buffer.from('not under listing/a/')]));

      const listed = new Map<string, number>();
      for await (const blob of store.list('listing/a/')) {
        assert.ok(blob.modifiedAt instanceof Date);
        listed.set(blob.key, blob.size);
      }
      assert.deepEqual([...listed.entries()].sort(), [...written.entries()].sort());
      assert.deepEqual(await keysUnder(store, 'listing/a/odd/'), ['listing/a/odd/001', 'listing/a/odd/003', 'listing/a/odd/005']);
    });

    it('lists nothing under a prefix that holds no blobs', async () => {
      assert.deepEqual(await keysUnder(store, 'nothing-here/'), []);
    });

    it('passes its readiness check', async () => {
      await store.check();
    });
  });
}
