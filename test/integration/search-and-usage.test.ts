// What the web UI asks of the API beyond the basics: search in the image list, and the dashboard's storage, queue and per-day figures.
import assert from 'node:assert/strict';
import { stat } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import { fixture, startApp, type TestApp } from '../helpers/app.js';
import { signUp } from '../helpers/accounts.js';
import type { Image } from '../helpers/images.js';

const CANON = fixture('jpg/Canon_40D.jpg');
// Photos with nothing but the image in them: their stored size is their file size.
const BLUE = fixture('jpg/xmp/BlueSquare.jpg');
const RECONYX = fixture('jpg/Reconyx_HC500_Hyperfire.jpg');

describe('image search and dashboard figures', () => {
  let t: TestApp;
  let other: { authorization: string };

  before(async () => {
    t = await startApp({ REGISTRATION: 'open' });
    const uploads: Array<[string, Record<string, string>]> = [
      [CANON, { description: 'Harbour at Dusk', key: 'trips/lisbon' }],
      [BLUE, { description: 'a cat on 100%_sure ground' }],
      [RECONYX, { key: 'cameras/trail' }],
    ];
    for (const [file, fields] of uploads) {
      const res = await t.upload([file], fields);
      assert.equal(res.status, 201, await res.text());
    }
    other = (await signUp(t, 'searcher')).auth;
    const res = await t.upload([CANON], { description: 'harbour of someone else' }, other);
    assert.equal(res.status, 201, await res.text());
  });
  after(() => t.close());

  const search = async (q: string, headers: Record<string, string> = t.auth): Promise<Array<string | null>> => {
    const res = await fetch(`${t.url}/api/v1/images?${new URLSearchParams({ q })}`, { headers });
    assert.equal(res.status, 200, await res.clone().text());
    const body = (await res.json()) as { items: Image[] };
    return body.items.map((i) => i.original_name).sort();
  };

  it('finds images by a word of their name, key or description, whatever the case', async () => {
    assert.deepEqual(await search('bluesq'), ['BlueSquare.jpg']);
    assert.deepEqual(await search('LISBON'), ['Canon_40D.jpg']);
    assert.deepEqual(await search('dusk'), ['Canon_40D.jpg']);
    assert.deepEqual(await search('trail'), ['Reconyx_HC500_Hyperfire.jpg']);
  });

  it('needs every word of the search to match', async () => {
    assert.deepEqual(await search('harbour dusk'), ['Canon_40D.jpg']);
    assert.deepEqual(await search('harbour bluesquare'), []);
  });

  it('takes % and _ literally', async () => {
    assert.deepEqual(await search('100%_sure'), ['BlueSquare.jpg']);
    assert.deepEqual(await search('%'), ['BlueSquare.jpg']);
    assert.deepEqual(await search('at_dusk'), [], 'an _ wildcard would match "at dusk"');
    assert.deepEqual(await search('harbour%dusk'), [], 'a % wildcard would match "harbour at dusk"');
  });

  it("searches only a user's own images, and all of them for an admin", async () => {
    assert.deepEqual(await search('harbour', other), ['Canon_40D.jpg']);
    assert.deepEqual(await search('harbour'), ['Canon_40D.jpg', 'Canon_40D.jpg']);
  });

  it('reports storage used, the queue and bytes per day to the admin', async () => {
    const res = await fetch(`${t.url}/api/v1/stats?days=7`, { headers: t.auth });
    assert.equal(res.status, 200);
    const stats = (await res.json()) as {
      per_day: { day: string; total: number; bytes: number; average_processing_ms: number | null }[];
      storage: { images: number; image_bytes: number; blobs: number; stored_bytes: number };
      queue: Record<string, number>;
    };
    const sizes = await Promise.all([CANON, BLUE, RECONYX].map(async (f) => (await stat(f)).size));
    const [canon = 0] = sizes;
    const distinct = sizes.reduce((a, b) => a + b, 0);
    // The same Canon bytes twice: two images, one stored original.
    assert.deepEqual(stats.storage, { images: 4, image_bytes: distinct + canon, blobs: 3, stored_bytes: distinct });
    const today = new Date().toISOString().slice(0, 10);
    const day = stats.per_day.find((d) => d.day === today);
    assert.ok(day, JSON.stringify(stats.per_day));
    assert.equal(day.total, 4);
    assert.equal(day.bytes, distinct + canon);
    assert.ok(day.average_processing_ms !== null && day.average_processing_ms > 0);
    for (const state of ['pending', 'running', 'done', 'failed']) assert.equal(typeof stats.queue[state], 'number', state);
  });
});
