import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { setTimeout as delay } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { originalKey } from '../../src/core/storage/blob-keys.js';
import { fixture, startApp, type TestApp } from '../helpers/app.js';
import { readAll } from '../helpers/blob-store-contract.js';
import { expectProblem } from '../helpers/accounts.js';
import { waitFor } from '../helpers/wait.js';
import { uploadOne, type Image } from '../helpers/images.js';

interface ListPage {
  items: Image[];
  next_cursor: string | null;
}

const FILES = [
  'jpg/Canon_40D.jpg',
  'jpg/Nikon_D70.jpg',
  'jpg/tests/32-lens_data.jpeg',
  'jpg/gps/DSCN0010.jpg',
  'jpg/gps/DSCN0012.jpg',
  'jpg/orientation/landscape_1.jpg',
  'tiff/Arbitro.tiff',
].map(fixture);

async function list(t: TestApp, query: string): Promise<ListPage> {
  const res = await fetch(`${t.url}/api/v1/images?${query}`, { headers: t.auth });
  assert.equal(res.status, 200, await res.clone().text());
  return (await res.json()) as ListPage;
}

const ids = (items: readonly { id: string }[]): string[] => items.map((i) => i.id);

/** The order the API promises: created_at descending, then id descending for images of the same instant. */
const newestFirst = (items: readonly Image[]): Image[] =>
  [...items].sort((a, b) => (a.created_at === b.created_at ? (a.id < b.id ? 1 : -1) : a.created_at < b.created_at ? 1 : -1));

const getImage = (t: TestApp, id: string, headers: Record<string, string> = t.auth): Promise<Response> =>
  fetch(`${t.url}/api/v1/images/${encodeURIComponent(id)}`, { headers });
const patchImage = (t: TestApp, id: string, body: unknown, headers: Record<string, string> = t.auth): Promise<Response> =>
  fetch(`${t.url}/api/v1/images/${encodeURIComponent(id)}`, {
    method: 'PATCH',
    body: JSON.stringify(body),
    headers: { ...headers, 'content-type': 'application/json' },
  });
const deleteImage = (t: TestApp, id: string, headers: Record<string, string> = t.auth, query = ''): Promise<Response> =>
  fetch(`${t.url}/api/v1/images/${encodeURIComponent(id)}${query}`, { method: 'DELETE', headers });
/** For good, not into the trash: the bytes go with the last image that refers to them (the trash keeps them until it is emptied). */
const FOR_GOOD = '?permanent=true';

async function current(t: TestApp, id: string): Promise<Image> {
  const res = await getImage(t, id);
  assert.equal(res.status, 200, await res.clone().text());
  return (await res.json()) as Image;
}


describe('listing images', () => {
  let t: TestApp;
  /** In upload order, in three batches with a pause and a timestamp between them. */
  let uploaded: Image[];
  let batches: Image[][];
  let afterFirstBatch: string;
  let afterSecondBatch: string;

  before(async () => {
    // No background processing: every image stays "ready" unless a test changes it.
    t = await startApp({ PROCESSING: 'false', RATE_LIMIT_UPLOAD: '0' });
    const keys = ['album/k', undefined, 'other', 'album/k', undefined, undefined, 'album/k'];
    const upload = (i: number) => uploadOne(t, FILES[i]!, keys[i] ? { key: keys[i] } : {});
    const batch = async (from: number, to: number): Promise<Image[]> => {
      const out: Image[] = [];
      for (let i = from; i < to; i += 1) out.push(await upload(i));
      return out;
    };
    // The pauses only keep the marks off the images' own instants (timestamps have millisecond precision).
    const first = await batch(0, 2);
    await delay(5);
    afterFirstBatch = new Date().toISOString();
    await delay(5);
    const second = await batch(2, 5);
    await delay(5);
    afterSecondBatch = new Date().toISOString();
    await delay(5);
    const third = await batch(5, 7);
    batches = [first, second, third];
    uploaded = batches.flat();
  });
  after(() => t.close());

  it('lists every image newest first', async () => {
    const page = await list(t, 'limit=100');
    assert.equal(page.items.length, 7);
    assert.equal(page.next_cursor, null);
    assert.deepEqual(ids(page.items), ids(newestFirst(uploaded)));
    // Later batches come strictly first.
    const position = (id: string) => ids(page.items).indexOf(id);
    for (const later of batches[2]!) for (const earlier of batches[1]!) assert.ok(position(later.id) < position(earlier.id));
    for (const later of batches[1]!) for (const earlier of batches[0]!) assert.ok(position(later.id) < position(earlier.id));
    for (let i = 1; i < uploaded.length; i += 1) assert.ok(uploaded[i]!.created_at >= uploaded[i - 1]!.created_at, 'created_at follows upload order');
  });

  it('pages through all images with a cursor, each exactly once, ending with next_cursor null', async () => {
    const seen: string[] = [];
    const sizes: number[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const page: ListPage = await list(t, `limit=3${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
      sizes.push(page.items.length);
      seen.push(...ids(page.items));
      cursor = page.next_cursor;
      pages += 1;
      assert.ok(pages <= 10, 'pagination ends');
    } while (cursor !== null);
    assert.deepEqual(sizes, [3, 3, 1]);
    assert.equal(new Set(seen).size, seen.length, 'no image twice');
    assert.deepEqual(seen, ids(newestFirst(uploaded)), 'pages continue the same order');
  });

  it('hands out no cursor when the page holds the last image', async () => {
    const page = await list(t, 'limit=7');
    assert.equal(page.items.length, 7);
    assert.equal(page.next_cursor, null);
  });

  it('lists only the images of one key, newest first', async () => {
    const expected = newestFirst(uploaded.filter((i) => i.key === 'album/k'));
    assert.equal(expected.length, 3);
    const page = await list(t, 'key=album%2Fk');
    assert.deepEqual(ids(page.items), ids(expected));
    assert.ok(page.items.every((i) => i.key === 'album/k'));
    assert.deepEqual(ids((await list(t, 'key=other')).items), ids(uploaded.filter((i) => i.key === 'other')));
    assert.deepEqual((await list(t, 'key=no-such-key')).items, []);
  });

  it('pages within a key filter', async () => {
    const first = await list(t, 'key=album%2Fk&limit=2');
    assert.equal(first.items.length, 2);
    assert.ok(first.next_cursor);
    const second = await list(t, `key=album%2Fk&limit=2&cursor=${encodeURIComponent(first.next_cursor)}`);
    assert.equal(second.next_cursor, null);
    assert.deepEqual([...ids(first.items), ...ids(second.items)], ids(newestFirst(uploaded.filter((i) => i.key === 'album/k'))));
  });

  it('filters by status', async () => {
    const failed = uploaded[3]!;
    // No HTTP route fails an image on purpose; the catalog sets the state a failed processing run leaves.
    await t.app.catalog.updateImage(failed.id, { status: 'failed', error: 'test: processing failed' });
    try {
      assert.deepEqual(ids((await list(t, 'status=failed')).items), [failed.id]);
      assert.deepEqual(ids((await list(t, 'status=ready')).items), ids(newestFirst(uploaded.filter((i) => i.id !== failed.id))));
      assert.deepEqual((await list(t, 'status=processing')).items, []);
    } finally {
      await t.app.catalog.updateImage(failed.id, { status: 'ready', error: null });
    }
  });

  it('refuses an unknown status with validation_failed', async () => {
    const res = await fetch(`${t.url}/api/v1/images?status=lost`, { headers: t.auth });
    await expectProblem(res, 400, 'validation_failed');
  });

  it('filters by created_after and created_before', async () => {
    const [first, second, third] = batches as [Image[], Image[], Image[]];
    const after = encodeURIComponent(afterFirstBatch);
    const before = encodeURIComponent(afterSecondBatch);
    assert.deepEqual(ids((await list(t, `created_after=${after}`)).items), ids(newestFirst([...second, ...third])));
    assert.deepEqual(ids((await list(t, `created_before=${before}`)).items), ids(newestFirst([...first, ...second])));
    assert.deepEqual(ids((await list(t, `created_after=${after}&created_before=${before}`)).items), ids(newestFirst(second)));
    assert.deepEqual(ids((await list(t, `created_after=${before}&created_before=${after}`)).items), []);
  });

  it('refuses a date that is not a date-time with validation_failed', async () => {
    const res = await fetch(`${t.url}/api/v1/images?created_after=yesterday`, { headers: t.auth });
    await expectProblem(res, 400, 'validation_failed');
  });

  it('refuses a cursor it did not hand out with invalid_cursor', async () => {
    for (const cursor of ['not-a-cursor', Buffer.from(JSON.stringify({ a: 1 })).toString('base64url'), Buffer.from('[1,2]').toString('base64url')]) {
      const res = await fetch(`${t.url}/api/v1/images?cursor=${encodeURIComponent(cursor)}`, { headers: t.auth });
      await expectProblem(res, 400, 'invalid_cursor');
    }
  });

  it('refuses a limit outside 1 to 100 with validation_failed', async () => {
    for (const limit of ['0', '1000', '-1', 'ten']) {
      const res = await fetch(`${t.url}/api/v1/images?limit=${limit}`, { headers: t.auth });
      await expectProblem(res, 400, 'validation_failed');
    }
  });

  it('refuses an unknown query parameter with validation_failed', async () => {
    const res = await fetch(`${t.url}/api/v1/images?colour=red`, { headers: t.auth });
    await expectProblem(res, 400, 'validation_failed');
  });

  it('refuses to list without a credential', async () => {
    const res = await fetch(`${t.url}/api/v1/images`);
    assert.equal(res.headers.get('www-authenticate'), 'Bearer');
    await expectProblem(res, 401, 'unauthorized');
  });
});

describe('one image: get, change, delete', () => {
  let t: TestApp;

  /** Uploads and waits for background processing to finish, so that only the test changes the image afterwards. */
  async function uploadReady(file: string, fields: Record<string, string> = {}): Promise<Image> {
    const image = await uploadOne(t, file, fields);
    return waitFor(`${image.id} processed`, async () => {
      const now = await current(t, image.id);
      return now.status === 'processing' ? undefined : now;
    });
  }

  before(async () => {
    // Processing stays on (the default): changes and deletes must hold against the background jobs too.
    t = await startApp({ RATE_LIMIT_UPLOAD: '0' });
  });
  after(() => t.close());

  it('answers the image object by id', async () => {
    const image = await uploadReady(fixture('jpg/Canon_40D.jpg'), { description: 'a camera', key: 'cams/canon' });
    const got = await current(t, image.id);
    assert.equal(got.id, image.id);
    assert.equal(got.url, image.url);
    assert.equal(got.sha256, image.sha256);
    assert.equal(got.description, 'a camera');
    assert.equal(got.key, 'cams/canon');
    assert.equal(got.visibility, 'public');
  });

  it('refuses to show an image without a credential', async () => {
    const image = await uploadReady(fixture('jpg/Canon_40D.jpg'));
    await expectProblem(await getImage(t, image.id, {}), 401, 'unauthorized');
  });

  it('changes the description, visibility and key, and the changes are kept', async () => {
    const image = await uploadReady(fixture('jpg/Nikon_D70.jpg'));
    const res = await patchImage(t, image.id, { description: '  Bridge at dusk  ', visibility: 'private', key: 'trips/2024' });
    assert.equal(res.status, 200, await res.clone().text());
    const changed = (await res.json()) as Image;
    assert.equal(changed.description, 'Bridge at dusk');
    assert.equal(changed.visibility, 'private');
    assert.equal(changed.key, 'trips/2024');
    assert.ok(changed.updated_at >= image.updated_at);
    assert.deepEqual(await current(t, image.id), changed);
    assert.deepEqual(ids((await list(t, 'key=trips%2F2024')).items), [image.id]);

    // Private now: hidden from anonymous clients at its URL; public again: served.
    await expectProblem(await fetch(image.url), 404, 'not_found');
    const back = await patchImage(t, image.id, { visibility: 'public' });
    assert.equal(back.status, 200);
    const served = await fetch(image.url);
    assert.equal(served.status, 200);
    await served.arrayBuffer();
  });

  it('clears the description and key with null', async () => {
    const image = await uploadReady(fixture('jpg/Nikon_D70.jpg'), { description: 'to clear', key: 'to/clear' });
    const res = await patchImage(t, image.id, { description: null, key: null });
    assert.equal(res.status, 200, await res.clone().text());
    const changed = (await res.json()) as Image;
    assert.equal(changed.description, null);
    assert.equal(changed.key, null);
    assert.equal(changed.visibility, 'public', 'what the patch does not name stays');
    assert.deepEqual(await current(t, image.id), changed);
  });

  it('refuses a patch with an unknown property with validation_failed and changes nothing', async () => {
    const image = await uploadReady(fixture('jpg/Canon_40D.jpg'), { description: 'unchanged', key: 'keep/me' });
    const before = await current(t, image.id);
    const res = await patchImage(t, image.id, { description: 'changed', colour: 'red' });
    await expectProblem(res, 400, 'validation_failed');
    assert.deepEqual(await current(t, image.id), before);
  });

  it('refuses a patch with an invalid key with validation_failed and changes nothing', async () => {
    const image = await uploadReady(fixture('jpg/Canon_40D.jpg'), { description: 'unchanged', key: 'keep/me' });
    const before = await current(t, image.id);
    for (const key of ['../etc/passwd', 'has space', 'a//b', '/leading', 'x'.repeat(201)]) {
      const res = await patchImage(t, image.id, { key, description: 'changed' });
      await expectProblem(res, 400, 'validation_failed');
      assert.deepEqual(await current(t, image.id), before, `key ${key}`);
    }
  });

  it('refuses an empty patch and a bad visibility with validation_failed and changes nothing', async () => {
    const image = await uploadReady(fixture('jpg/Canon_40D.jpg'));
    const before = await current(t, image.id);
    await expectProblem(await patchImage(t, image.id, {}), 400, 'validation_failed');
    await expectProblem(await patchImage(t, image.id, { visibility: 'secret' }), 400, 'validation_failed');
    assert.deepEqual(await current(t, image.id), before);
  });

  it('refuses changes and deletes without a credential and keeps the image', async () => {
    const image = await uploadReady(fixture('jpg/Canon_40D.jpg'), { description: 'mine' });
    const before = await current(t, image.id);
    await expectProblem(await patchImage(t, image.id, { description: 'theirs' }, {}), 401, 'unauthorized');
    await expectProblem(await deleteImage(t, image.id, {}), 401, 'unauthorized');
    assert.deepEqual(await current(t, image.id), before);
  });

  it('deletes an image: 204, then its id and its URL answer 404', async () => {
    const image = await uploadReady(fixture('jpg/tests/32-lens_data.jpeg'));
    const res = await deleteImage(t, image.id);
    assert.equal(res.status, 204);
    assert.equal(await res.text(), '');
    await expectProblem(await getImage(t, image.id), 404, 'not_found');
    await expectProblem(await fetch(image.url), 404, 'not_found');
    await expectProblem(await fetch(image.url, { headers: t.auth }), 404, 'not_found');
    assert.ok(!ids((await list(t, 'limit=100')).items).includes(image.id));
    await expectProblem(await deleteImage(t, image.id), 404, 'not_found');
  });

  it('removes the stored bytes with the last image that refers to them', async () => {
    const image = await uploadReady(fixture('jpg/orientation/landscape_2.jpg'));
    const key = originalKey(image.sha256);
    assert.deepEqual(await readAll(await t.app.store.get(key)), await readFile(fixture('jpg/orientation/landscape_2.jpg')));
    assert.equal((await deleteImage(t, image.id, t.auth, FOR_GOOD)).status, 204);
    assert.equal(await t.app.store.exists(key), false, `${key} is removed`);
  });

  it('keeps bytes shared by two images until the second is deleted', async () => {
    const file = fixture('jpg/orientation/landscape_3.jpg');
    const bytes = await readFile(file);
    const first = await uploadReady(file);
    const second = await uploadReady(file);
    assert.equal(first.sha256, second.sha256);
    assert.notEqual(first.filename, second.filename);
    const blob = originalKey(first.sha256);

    assert.equal((await deleteImage(t, first.id, t.auth, FOR_GOOD)).status, 204);
    assert.equal(await t.app.store.exists(blob), true, 'the second image still needs the bytes');
    await expectProblem(await fetch(first.url), 404, 'not_found');
    const served = await fetch(second.url);
    assert.equal(served.status, 200);
    assert.deepEqual(Buffer.from(await served.arrayBuffer()), bytes);

    assert.equal((await deleteImage(t, second.id, t.auth, FOR_GOOD)).status, 204);
    assert.equal(await t.app.store.exists(blob), false, 'the last reference took the bytes with it');
    await expectProblem(await fetch(second.url), 404, 'not_found');
  });

  it('answers 404 not_found for an unknown id on GET, PATCH and DELETE', async () => {
    const before = await t.stored();
    for (const id of ['0000000000000000', 'no-such-image']) {
      await expectProblem(await getImage(t, id), 404, 'not_found');
      await expectProblem(await patchImage(t, id, { description: 'x' }), 404, 'not_found');
      await expectProblem(await deleteImage(t, id), 404, 'not_found');
    }
    assert.deepEqual(await t.stored(), before);
  });
});
