// The S3 blob store against s3rver, a real S3 wire-protocol server on loopback: the shared contract plus S3-only behaviour.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { readFile, readdir } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { isImgdError } from '../../src/core/errors.js';
import { createS3Store, type S3StoreOptions } from '../../src/store/s3.js';
import { blobStoreContract, failingSource, isNotFound, PHOTO, readAll } from '../helpers/blob-store-contract.js';
import { deadEndpoint, startS3rver, type FakeS3 } from '../helpers/s3rver.js';

const BUCKET = 'imgd-test';
const MiB = 1024 * 1024;

function storeOptions(s3: FakeS3, overrides: Partial<S3StoreOptions> = {}): S3StoreOptions {
  return {
    bucket: BUCKET,
    endpoint: s3.endpoint,
    region: 'us-east-1',
    accessKeyId: 'S3RVER',
    secretAccessKey: 'S3RVER',
    forcePathStyle: true,
    ...overrides,
  };
}

/** Streams size bytes of random data in 1 MiB chunks, hashing them as they go. */
function generated(size: number): { body: Readable; sha256: () => string } {
  const hash = createHash('sha256');
  const body = Readable.from(
    (function* () {
      for (let sent = 0; sent < size; sent += MiB) {
        const chunk = randomBytes(Math.min(MiB, size - sent));
        hash.update(chunk);
        yield chunk;
      }
    })(),
  );
  return { body, sha256: () => hash.digest('hex') };
}

async function sha256Of(stream: Readable): Promise<{ hex: string; size: number }> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of stream) {
    hash.update(chunk as Buffer);
    size += (chunk as Buffer).length;
  }
  return { hex: hash.digest('hex'), size };
}

/** s3rver keeps unfinished multipart uploads as folders under this one. */
async function unfinishedUploads(s3: FakeS3): Promise<string[]> {
  return readdir(path.join(s3.directory, BUCKET, '._S3rver_uploads')).catch(() => []);
}

// A small page size makes the contract's listings span several ListObjectsV2 pages.
blobStoreContract('S3 store', async () => {
  const s3 = await startS3rver([BUCKET]);
  return { store: createS3Store(storeOptions(s3, { prefix: 'contract-run/', pageSize: 3 })), cleanup: () => s3.close() };
});

describe('S3 store: S3-only behaviour', () => {
  let s3: FakeS3;
  let photo: Buffer;
  before(async () => {
    s3 = await startS3rver([BUCKET]);
    photo = await readFile(PHOTO);
  });
  after(() => s3.close());

  const requestCount = async (): Promise<number> => (await s3.requests()).length;
  const requestsSince = async (count: number): Promise<string[]> => (await s3.requests()).slice(count);

  it('follows continuation tokens through more keys than one page', async () => {
    const store = createS3Store(storeOptions(s3, { pageSize: 2 }));
    const keys = ['paged/1', 'paged/2', 'paged/3', 'paged/4', 'paged/5'];
    for (const key of keys) await store.put(key, Readable.from([Buffer.from(key)]));
    const seen = await requestCount();
    const listed = [];
    for await (const blob of store.list('paged/')) listed.push(blob);
    assert.deepEqual(listed.map((b) => b.key).sort(), keys);
    assert.ok(listed.every((b) => b.size === 'paged/1'.length));
    const pages = (await requestsSince(seen)).filter((r) => r.startsWith('GET ') && r.includes('list-type=2'));
    assert.equal(pages.length, 3, 'five keys at two a page');
    assert.equal(pages.filter((r) => r.includes('continuation-token=')).length, 2);
  });

  it('keeps stores with different key prefixes apart and strips the prefix when listing', async () => {
    const imgd = createS3Store(storeOptions(s3, { prefix: 'imgd/' }));
    const other = createS3Store(storeOptions(s3, { prefix: 'other' }));
    const whole = createS3Store(storeOptions(s3));
    await imgd.put('originals/ab/cd/same', Readable.from([Buffer.from('imgd bytes')]));
    await other.put('originals/ab/cd/same', Readable.from([Buffer.from('other bytes')]));

    assert.equal((await readAll(await imgd.get('originals/ab/cd/same'))).toString(), 'imgd bytes');
    assert.equal((await readAll(await other.get('originals/ab/cd/same'))).toString(), 'other bytes');
    assert.equal(await whole.exists('originals/ab/cd/same'), false);
    assert.equal(await whole.exists('imgd/originals/ab/cd/same'), true);
    assert.equal(await whole.exists('other/originals/ab/cd/same'), true, 'a prefix without a slash gets one');

    const listed = [];
    for await (const blob of imgd.list('originals/')) listed.push(blob.key);
    assert.deepEqual(listed, ['originals/ab/cd/same']);

    await imgd.delete('originals/ab/cd/same');
    assert.equal((await readAll(await other.get('originals/ab/cd/same'))).toString(), 'other bytes');
  });

  it('streams a 20 MiB body as a multipart upload and reads it back intact', async () => {
    const store = createS3Store(storeOptions(s3));
    const source = generated(20 * MiB);
    const seen = await requestCount();
    await store.put('big/twenty.bin', source.body);
    const requests = await requestsSince(seen);
    const parts = requests.filter((r) => r.startsWith('PUT /imgd-test/big/twenty.bin?') && r.includes('partNumber='));
    assert.ok(requests.some((r) => r.startsWith('POST /imgd-test/big/twenty.bin?uploads')), 'a multipart upload was started');
    assert.equal(parts.length, 3, '20 MiB in 8 MiB parts');
    assert.equal((await store.stat('big/twenty.bin'))?.size, 20 * MiB);
    assert.deepEqual(await sha256Of(await store.get('big/twenty.bin')), { hex: source.sha256(), size: 20 * MiB });
    const tail = await readAll(await store.get('big/twenty.bin', { start: 20 * MiB - 4, end: 20 * MiB - 1 }));
    assert.equal(tail.length, 4);
    assert.deepEqual(await unfinishedUploads(s3), []);
  });

  it('aborts the multipart upload when the source fails after the first part, and stores nothing', async () => {
    const store = createS3Store(storeOptions(s3));
    const chunks = Array.from({ length: 9 }, () => randomBytes(MiB));
    const seen = await requestCount();
    await assert.rejects(store.put('big/broken.bin', failingSource(chunks, 'client went away at 9 MiB')), /client went away at 9 MiB/);
    const requests = await requestsSince(seen);
    const started = requests.find((r) => r.startsWith('POST /imgd-test/big/broken.bin?uploads'));
    assert.ok(started, 'the body was large enough to go multipart');
    assert.ok(
      requests.some((r) => r.startsWith('DELETE /imgd-test/big/broken.bin?') && r.includes('uploadId=')),
      'AbortMultipartUpload was sent',
    );
    assert.equal(await store.exists('big/broken.bin'), false);
    await assert.rejects(store.get('big/broken.bin'), isNotFound);
  });

  it('answers a range that starts past the end with range_not_satisfiable', async () => {
    const store = createS3Store(storeOptions(s3));
    await store.putFile('ranges/photo.jpg', PHOTO);
    await assert.rejects(
      store.get('ranges/photo.jpg', { start: photo.length + 10, end: photo.length + 20 }),
      (err: unknown) => isImgdError(err) && err.code === 'range_not_satisfiable',
    );
  });

  it('fails its check with a clear error when the bucket does not exist', async () => {
    const store = createS3Store(storeOptions(s3, { bucket: 'no-such-bucket' }));
    await assert.rejects(store.check(), (err: unknown) => {
      assert.ok(isImgdError(err));
      assert.equal(err.code, 'unavailable');
      assert.equal(err.message, `S3 bucket "no-such-bucket" at ${s3.endpoint} does not exist.`);
      return true;
    });
  });

  it('fails its check with a clear error when the access key is unknown', async () => {
    const store = createS3Store(storeOptions(s3, { accessKeyId: 'NOT-A-KEY', secretAccessKey: 'wrong' }));
    await assert.rejects(store.check(), (err: unknown) => {
      assert.ok(isImgdError(err));
      assert.equal(err.code, 'unavailable');
      assert.match(err.message, /^S3 bucket "imgd-test" at .* refused access: check the access key/);
      assert.doesNotMatch(err.message, /wrong/, 'the secret stays out of the message');
      return true;
    });
  });

  it('fails its check with a clear error when nothing listens at the endpoint', async () => {
    const endpoint = await deadEndpoint();
    const store = createS3Store({ ...storeOptions(s3), endpoint });
    await assert.rejects(store.check(), (err: unknown) => {
      assert.ok(isImgdError(err));
      assert.match(err.message, new RegExp(`^S3 bucket "imgd-test" at ${endpoint} cannot be used: .*ECONNREFUSED`));
      return true;
    });
  });

  it('refuses half a set of credentials', () => {
    assert.throws(() => createS3Store(storeOptions(s3, { secretAccessKey: undefined })), /both an access key id and a secret access key/);
  });
});
