// Idempotency-Key on POST /api/v1/images and on tus creation: a retry gets the first answer and creates nothing;
// other content with the key is 422, a retry while the first still runs is 409, and keys expire.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import { fixture, startApp, TOKEN, type TestApp } from '../helpers/app.js';
import { waitFor } from '../helpers/wait.js';

const auth = { authorization: `Bearer ${TOKEN}` };
const PHOTO = fixture('jpg/Canon_40D.jpg');
const OTHER = fixture('jpg/gps/DSCN0010.jpg');

async function problem(res: Response, status: number, code: string): Promise<void> {
  assert.equal(res.status, status, await res.clone().text());
  assert.equal(((await res.json()) as { code: string }).code, code);
}

describe('Idempotency-Key', () => {
  let t: TestApp;
  const count = async (): Promise<number> => (await t.stored()).images;
  before(async () => {
    t = await startApp();
  });
  after(() => t.close());

  it('answers a retried upload with the first answer and stores nothing more', async () => {
    const first = await t.upload([PHOTO], { key: 'retry/1' }, { ...auth, 'idempotency-key': 'k-replay' });
    assert.equal(first.status, 201);
    const body = await first.text();
    const images = await count();
    // A new multipart body (another boundary) with the same file and fields, in the draft's quoted form.
    const again = await t.upload([PHOTO], { key: 'retry/1' }, { ...auth, 'idempotency-key': '"k-replay"' });
    assert.equal(again.status, 201);
    assert.equal(again.headers.get('idempotent-replayed'), 'true');
    assert.equal(await again.text(), body);
    assert.equal(await count(), images);
  });

  it('refuses the key with other content (422) and keeps nothing of it', async () => {
    assert.equal((await t.upload([PHOTO], {}, { ...auth, 'idempotency-key': 'k-conflict' })).status, 201);
    const images = await count();
    await problem(await t.upload([OTHER], {}, { ...auth, 'idempotency-key': 'k-conflict' }), 422, 'idempotency_key_reused');
    await problem(await t.upload([PHOTO], { description: 'changed' }, { ...auth, 'idempotency-key': 'k-conflict' }), 422, 'idempotency_key_reused');
    assert.equal(await count(), images);
  });

  it('refuses a retry while the first request is still running (409), then the first finishes', async () => {
    const bytes = await readFile(PHOTO);
    const boundary = 'imgd-test-boundary';
    const head = Buffer.from(`--${boundary}\r\ncontent-disposition: form-data; name="file"; filename="slow.jpg"\r\ncontent-type: image/jpeg\r\n\r\n`);
    const tail = Buffer.from(`\r\n--${boundary}--\r\n`);
    let feed!: ReadableStreamDefaultController<Uint8Array>;
    const body = new ReadableStream<Uint8Array>({ start: (controller) => void (feed = controller) });
    const headers = { ...auth, 'idempotency-key': 'k-slow', 'content-type': `multipart/form-data; boundary=${boundary}` };
    const slow = fetch(`${t.url}/api/v1/images`, { method: 'POST', headers, body, duplex: 'half' } as RequestInit);
    feed.enqueue(head);
    feed.enqueue(bytes.subarray(0, 1000));
    await waitFor('the first request to hold its key', async () =>
      (await t.app.db.selectFrom('idempotency_keys').select('id').where('state', '=', 'running').executeTakeFirst()) ? true : undefined,
    );
    await problem(await t.upload([PHOTO], {}, { ...auth, 'idempotency-key': 'k-slow' }), 409, 'idempotency_key_in_use');
    feed.enqueue(bytes.subarray(1000));
    feed.enqueue(tail);
    feed.close();
    assert.equal((await slow).status, 201);
  });

  it('forgets a key after a day, and gc removes it', async () => {
    assert.equal((await t.upload([PHOTO], {}, { ...auth, 'idempotency-key': 'k-old' })).status, 201);
    const past = new Date(Date.now() - 1000).toISOString();
    await t.app.db.updateTable('idempotency_keys').set({ expires_at: past }).execute();
    const images = await count();
    // Other content under the expired key is a new request, not a conflict.
    assert.equal((await t.upload([OTHER], {}, { ...auth, 'idempotency-key': 'k-old' })).status, 201);
    assert.equal(await count(), images + 1);
    await t.app.db.updateTable('idempotency_keys').set({ expires_at: past }).execute();
    assert.ok((await t.app.gc()).idempotencyKeys >= 1);
    assert.deepEqual(await t.app.db.selectFrom('idempotency_keys').select('id').execute(), []);
  });

  it('keeps keys apart per credential, and refuses a malformed one', async () => {
    const minted = (await (
      await fetch(`${t.url}/api/v1/upload-tokens`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify({ expires_in: 600 }) })
    ).json()) as { token: string };
    assert.equal((await t.upload([PHOTO], {}, { ...auth, 'idempotency-key': 'k-mine' })).status, 201);
    const other = await t.upload([OTHER], {}, { authorization: `Bearer ${minted.token}`, 'idempotency-key': 'k-mine' });
    assert.equal(other.status, 201);
    assert.equal(other.headers.get('idempotent-replayed'), null);
    await problem(await t.upload([PHOTO], {}, { ...auth, 'idempotency-key': 'x'.repeat(256) }), 400, 'validation_failed');
  });

  it('replays a tus creation: the same upload URL, at its current offset', async () => {
    const create = (length: string) =>
      fetch(`${t.url}/api/v1/uploads`, {
        method: 'POST',
        headers: { ...auth, 'tus-resumable': '1.0.0', 'upload-length': length, 'upload-metadata': `filename ${Buffer.from('a.jpg').toString('base64')}`, 'idempotency-key': 'k-tus' },
      });
    const first = await create('5000');
    assert.equal(first.status, 201);
    const location = first.headers.get('location')!;
    const patched = await fetch(location, {
      method: 'PATCH',
      headers: { ...auth, 'tus-resumable': '1.0.0', 'upload-offset': '0', 'content-type': 'application/offset+octet-stream' },
      body: Buffer.alloc(100),
    });
    assert.equal(patched.status, 204);
    const again = await create('5000');
    assert.equal(again.status, 201);
    assert.equal(again.headers.get('location'), location);
    assert.equal(again.headers.get('idempotent-replayed'), 'true');
    await problem(await create('6000'), 422, 'idempotency_key_reused');
    assert.equal((await fetch(location, { method: 'DELETE', headers: { ...auth, 'tus-resumable': '1.0.0' } })).status, 204);
  });
});
