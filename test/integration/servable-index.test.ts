// The index of servable images (src/core/images/servable-index.ts): a URL answers what the database holds now, right after a
// delete, a re-upload under the same name, or a change made through any path of this process; within the poll of the
// database's serving version for a change made by another process.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { ServableIndex } from '../../src/core/images/servable-index.js';
import { createCatalog } from '../../src/db/catalog.js';
import { expectProblem } from '../helpers/accounts.js';
import { fixture, startApp, type TestApp } from '../helpers/app.js';
import type { Image } from '../helpers/images.js';

const FIRST = fixture('jpg/xmp/BlueSquare.jpg');
const SECOND = fixture('jpg/Canon_40D.jpg');

describe('the servable index', () => {
  for (const shape of ['name', 'keyed'] as const) {
    describe(`with IMAGE_URLS=${shape}`, () => {
      let t: TestApp;
      before(async () => {
        t = await startApp({ IMAGE_URLS: shape });
      });
      after(() => t.close());

      const upload = async (name: string, file: string): Promise<Image> => {
        const res = await t.upload([[name, await readFile(file)]]);
        assert.equal(res.status, 201, await res.clone().text());
        return (await res.json()) as Image;
      };
      /** Several GETs, so every layer that remembers answers (index, fast lane, hot cache) holds this one. */
      const warm = async (url: string, sha256: string): Promise<void> => {
        for (let i = 0; i < 3; i += 1) {
          const res = await fetch(url);
          assert.equal(res.status, 200);
          assert.equal(res.headers.get('etag'), `"${sha256}"`);
          await res.arrayBuffer();
        }
      };
      const remove = async (id: string): Promise<void> => {
        const res = await fetch(`${t.url}/api/v1/images/${id}`, { method: 'DELETE', headers: t.auth });
        assert.equal(res.status, 204);
      };

      it('answers 404 right after a delete (to the trash), then, once purged, the new bytes of a re-upload under the same name', async () => {
        const first = await upload('same-name.jpg', FIRST);
        await warm(first.url, first.sha256);
        const firstSmall = await smallTag(first.url);
        for (let i = 0; i < 2; i += 1) assert.equal(await smallTag(first.url), firstSmall);
        await remove(first.id);
        await expectProblem(await fetch(first.url), 404, 'not_found');
        await expectProblem(await fetch(`${first.url}/small`), 404, 'not_found');
        // In the trash the image keeps its name (a restore gives its URL back): purged, the name is free.
        const purge = await fetch(`${t.url}/api/v1/trash/${first.id}`, { method: 'DELETE', headers: t.auth });
        assert.equal(purge.status, 204);

        const second = await upload('same-name.jpg', SECOND);
        assert.equal(second.filename, first.filename, 'the freed name is given again');
        assert.notEqual(second.sha256, first.sha256);
        const res = await fetch(second.url);
        assert.equal(res.status, 200);
        assert.equal(res.headers.get('etag'), `"${second.sha256}"`);
        assert.deepEqual(Buffer.from(await res.arrayBuffer()), await readFile(SECOND));
        if (shape === 'keyed') await expectProblem(await fetch(first.url), 404, 'not_found');
        else assert.equal(second.url, first.url, 'the same URL now names the new image');
        assert.notEqual(await smallTag(second.url), firstSmall, 'the variant of the new bytes');
      });

      it('stops serving an image at once when processing finds it unreadable', async () => {
        const image = await upload('fails-later.jpg', FIRST);
        await warm(image.url, image.sha256);
        await t.app.catalog.updateImage(image.id, { status: 'failed', error: 'found damaged' });
        await expectProblem(await fetch(image.url), 404, 'not_found');
      });

      it('serves again an image made public again, at once', async () => {
        const image = await upload('toggled.jpg', FIRST);
        await warm(image.url, image.sha256);
        const patch = (visibility: string) =>
          fetch(`${t.url}/api/v1/images/${image.id}`, { method: 'PATCH', body: JSON.stringify({ visibility }), headers: { ...t.auth, 'content-type': 'application/json' } });
        assert.equal((await patch('private')).status, 200);
        await expectProblem(await fetch(image.url), 404, 'not_found');
        assert.equal((await patch('public')).status, 200);
        await warm(image.url, image.sha256);
      });
    });
  }
});

/** The ETag of a URL's small variant now (rejects when it is not served). */
async function smallTag(url: string): Promise<string> {
  const res = await fetch(`${url}/small`, { headers: { accept: 'image/jpeg' } });
  await res.arrayBuffer();
  if (res.status !== 200) throw new Error(`small answered ${res.status}`);
  return res.headers.get('etag')!;
}

describe('the servable index watching the database for changes made elsewhere', () => {
  let t: TestApp;
  before(async () => {
    t = await startApp();
  });
  after(() => t.close());

  /** The real catalog of the test's database (as another process would have it), counting the index's lookups. */
  const counted = () => {
    const catalog = createCatalog(t.app.db, { groupCommits: false });
    const counts = { lookups: 0 };
    const source = {
      getImageByFilename: (filename: string) => ((counts.lookups += 1), catalog.getImageByFilename(filename)),
      getImageByUrlKey: (urlKey: string) => ((counts.lookups += 1), catalog.getImageByUrlKey(urlKey)),
    };
    return { catalog, counts, index: new ServableIndex(source, { ttlMs: 100, max: 100 }) };
  };
  const upload = async (name: string): Promise<Image> => {
    const res = await t.upload([[name, await readFile(FIRST)]]);
    assert.equal(res.status, 201, await res.clone().text());
    return (await res.json()) as Image;
  };

  it('moves the serving version on every change serving reads, and on no other', async () => {
    const catalog = createCatalog(t.app.db, { groupCommits: false });
    const image = await upload('versioned.jpg');
    const moved = async (change: () => Promise<unknown>): Promise<boolean> => {
      const before = await catalog.servingVersion();
      await change();
      return (await catalog.servingVersion()) !== before;
    };
    assert.equal(await moved(() => catalog.updateImage(image.id, { caption: 'a blue square', description: 'blue', placeholder: 'x' })), false);
    assert.equal(await moved(() => catalog.updateImage(image.id, { status: 'ready' })), false, 'processing done changes nothing served');
    assert.equal(await moved(() => catalog.updateImage(image.id, { visibility: 'private' })), true);
    assert.equal(await moved(() => catalog.updateImage(image.id, { status: 'failed', error: 'damaged' })), true);
    assert.equal(await moved(() => catalog.trashImage(image.id, new Date().toISOString())), true);
    assert.equal(await moved(() => catalog.restoreImage(image.id)), true);
    assert.equal(await moved(() => catalog.deleteImage(image.id, async () => undefined)), true);
    assert.equal(await moved(() => upload('new-image.jpg')), false, 'a new image was never held');
  });

  it('keeps a record while nothing changes, and forgets it within the poll once another process changes the image', async () => {
    const { catalog, counts, index } = counted();
    const image = await upload('watched.jpg');
    const address = { filename: image.filename, urlKey: new URL(image.url).pathname.split('/')[2] };
    const stop = index.watch(() => catalog.servingVersion(), 50);
    try {
      await sleep(120);
      assert.equal(index.lasting, true);
      assert.equal((await index.find(address))?.visibility, 'public');
      await sleep(300);
      assert.equal((await index.find(address))?.visibility, 'public');
      assert.equal(counts.lookups, 1, 'held past its 100 ms time limit: nothing changed');
      await catalog.updateImage(image.id, { visibility: 'private' });
      await sleep(200);
      assert.equal((await index.find(address))?.visibility, 'private', 'read again after the change');
      assert.equal(counts.lookups, 2);
    } finally {
      stop();
    }
  });

  it('falls back to the time limit while the version cannot be read', async () => {
    const { counts, index } = counted();
    const image = await upload('unwatched.jpg');
    const stop = index.watch(() => Promise.reject(new Error('connection lost')), 50);
    try {
      await sleep(120);
      assert.equal(index.lasting, false);
      await index.find({ filename: image.filename, urlKey: new URL(image.url).pathname.split('/')[2] });
      await sleep(300);
      await index.find({ filename: image.filename, urlKey: new URL(image.url).pathname.split('/')[2] });
      assert.equal(counts.lookups, 2, 'read again once its 100 ms were up');
    } finally {
      stop();
    }
  });
});
