import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import { originalKey } from '../../src/core/storage/blob-keys.js';
import { fixture, startApp, type TestApp } from '../helpers/app.js';
import { expectProblem, json, signUp } from '../helpers/accounts.js';
import { local, ready, rowOf, statusOf, uploadAs, type LibraryImage } from '../helpers/library.js';
import { waitFor } from '../helpers/wait.js';

const PHOTO = fixture('jpg/Canon_40D.jpg');
const del = (t: TestApp, id: string, auth: Record<string, string>, query = ''): Promise<Response> =>
  fetch(`${t.url}/api/v1/images/${id}${query}`, { method: 'DELETE', headers: auth });
const restore = (t: TestApp, id: string, auth: Record<string, string>): Promise<Response> =>
  fetch(`${t.url}/api/v1/trash/${id}/restore`, { method: 'POST', headers: auth });
const purge = (t: TestApp, id: string, auth: Record<string, string>): Promise<Response> =>
  fetch(`${t.url}/api/v1/trash/${id}`, { method: 'DELETE', headers: auth });
async function trashOf(t: TestApp, auth: Record<string, string>): Promise<LibraryImage[]> {
  const res = await fetch(`${t.url}/api/v1/trash`, { headers: auth });
  assert.equal(res.status, 200, await res.clone().text());
  return ((await res.json()) as { items: LibraryImage[] }).items;
}

describe('the trash', () => {
  let t: TestApp;
  let alice: Awaited<ReturnType<typeof signUp>>;
  let bob: Awaited<ReturnType<typeof signUp>>;

  before(async () => {
    t = await startApp({ REGISTRATION: 'open' });
    alice = await signUp(t, 'alice');
    bob = await signUp(t, 'bob');
  });
  after(() => t.close());

  it('stops serving a deleted image at once on every URL (original, variant, share link, viewer page, API), and restore brings each back', async () => {
    const image = await uploadAs(t, alice.auth, PHOTO);
    await ready(t, image);
    const share = (await (await fetch(`${t.url}/api/v1/images/${image.id}/share`, json({ expires_in: 600 }, alice.auth))).json()) as { url: string; page_url: string };
    const urls = [local(t, image.url), local(t, image.variants.small!), local(t, share.url), local(t, share.page_url), local(t, image.page_url)];
    // Twice each: the second public GET of the original is answered from the fast lane's memory.
    for (const url of [...urls, ...urls]) assert.equal(await statusOf(url), 200, url);

    assert.equal((await del(t, image.id, alice.auth)).status, 204);
    for (const url of urls) assert.equal(await statusOf(url), 404, url);
    await expectProblem(await fetch(`${t.url}/api/v1/images/${image.id}`, { headers: alice.auth }), 404, 'not_found');
    const listed = (await (await fetch(`${t.url}/api/v1/images`, { headers: alice.auth })).json()) as { items: LibraryImage[] };
    assert.ok(!listed.items.some((i) => i.id === image.id), 'not listed');
    const [trashed] = (await trashOf(t, alice.auth)).filter((i) => i.id === image.id);
    assert.ok(trashed, 'in the trash');
    assert.equal(Date.parse(trashed.purge_at!) - Date.parse(trashed.trashed_at!), 30 * 86_400_000, 'purged TRASH_DAYS (30) later');
    assert.ok(await t.app.store.exists(originalKey(image.sha256)), 'its bytes stay while it is in the trash');

    const back = await restore(t, image.id, alice.auth);
    assert.equal(back.status, 200, await back.clone().text());
    assert.equal(((await back.json()) as LibraryImage).url, image.url, 'the same URL');
    for (const url of urls) assert.equal(await statusOf(url), 200, url);
    assert.equal((await trashOf(t, alice.auth)).length, 0);
  });

  it('purges the bytes only with the last image that refers to them', async () => {
    const bytes = await readFile(fixture('jpg/Nikon_D70.jpg'));
    const first = await uploadAs(t, alice.auth, ['twin-a.jpg', bytes]);
    const second = await uploadAs(t, alice.auth, ['twin-b.jpg', bytes]);
    assert.equal(first.sha256, second.sha256);
    const key = originalKey(first.sha256);
    for (const image of [first, second]) assert.equal((await del(t, image.id, alice.auth)).status, 204);

    assert.equal((await purge(t, first.id, alice.auth)).status, 204);
    assert.equal(await rowOf(t, first.id), undefined, 'the purged image is gone');
    assert.ok(await t.app.store.exists(key), 'the other image (in the trash) still refers to the bytes');
    assert.equal((await restore(t, second.id, alice.auth)).status, 200);
    assert.equal(await statusOf(local(t, second.url)), 200);

    assert.equal((await del(t, second.id, alice.auth)).status, 204);
    const emptied = await fetch(`${t.url}/api/v1/trash/empty`, json({}, alice.auth));
    assert.equal(emptied.status, 200, await emptied.clone().text());
    assert.deepEqual(await emptied.json(), { purged: 1 });
    assert.equal(await t.app.store.exists(key), false, 'the last reference went: so did the bytes');
    assert.equal(await rowOf(t, second.id), undefined);
  });

  it("refuses to show, restore or purge someone else's trash, and a restore after the purge, with nothing changed", async () => {
    const image = await uploadAs(t, alice.auth, fixture('jpg/orientation/landscape_1.jpg'));
    assert.equal((await del(t, image.id, alice.auth)).status, 204);
    assert.ok(!(await trashOf(t, bob.auth)).some((i) => i.id === image.id), "bob's trash does not show alice's");
    await expectProblem(await restore(t, image.id, bob.auth), 404, 'not_found');
    await expectProblem(await purge(t, image.id, bob.auth), 404, 'not_found');
    const owned = (await (await fetch(`${t.url}/api/v1/trash?owner=${alice.user.id}`, { headers: bob.auth })).json()) as { items: LibraryImage[] };
    assert.ok(!owned.items.some((i) => i.id === image.id), 'owner= is ignored for a user: bob still gets his own');
    const emptied = (await (await fetch(`${t.url}/api/v1/trash/empty`, json({}, bob.auth))).json()) as { purged: number };
    assert.equal(emptied.purged, 0, "bob's empty leaves alice's trash alone");
    assert.ok((await rowOf(t, image.id))?.trashedAt, 'still in the trash');

    await expectProblem(await restore(t, 'no-such-image', alice.auth), 404, 'not_found');
    await expectProblem(await fetch(`${t.url}/api/v1/trash?cursor=garbage`, { headers: alice.auth }), 400, 'invalid_cursor');
    await expectProblem(await fetch(`${t.url}/api/v1/trash`), 401, 'unauthorized');
    await expectProblem(await del(t, image.id, alice.auth), 404, 'not_found');

    assert.equal((await purge(t, image.id, alice.auth)).status, 204);
    await expectProblem(await restore(t, image.id, alice.auth), 404, 'not_found');
    await expectProblem(await purge(t, image.id, alice.auth), 404, 'not_found');
    assert.equal(await rowOf(t, image.id), undefined);

    const kept = await uploadAs(t, alice.auth, fixture('jpg/orientation/landscape_2.jpg'));
    await expectProblem(await restore(t, kept.id, alice.auth), 404, 'not_found');
    assert.equal(await statusOf(local(t, kept.url)), 200, 'an image in the library is left as it was');
  });

  it('deletes for good at once with permanent=true', async () => {
    const image = await uploadAs(t, alice.auth, ['alone.jpg', await readFile(fixture('jpg/orientation/portrait_1.jpg'))]);
    assert.equal((await del(t, image.id, alice.auth, '?permanent=true')).status, 204);
    assert.equal(await rowOf(t, image.id), undefined);
    assert.equal(await t.app.store.exists(originalKey(image.sha256)), false);
    await expectProblem(await del(t, image.id, alice.auth, '?permanent=maybe'), 400, 'validation_failed');
  });
});

describe('the trash over time', () => {
  it('purges what has been in the trash longer than TRASH_DAYS, periodically, and leaves the rest', async () => {
    const t = await startApp({ TRASH_DAYS: '1', TRASH_PURGE_INTERVAL_SECONDS: '1' });
    try {
      const old = await uploadAs(t, t.auth, fixture('jpg/gps/DSCN0010.jpg'));
      const recent = await uploadAs(t, t.auth, fixture('jpg/gps/DSCN0012.jpg'));
      for (const image of [old, recent]) assert.equal((await del(t, image.id, t.auth)).status, 204);
      await t.app.db.updateTable('images').set({ trashed_at: new Date(Date.now() - 2 * 86_400_000).toISOString() }).where('id', '=', old.id).execute();
      await waitFor('the expired image purged', async () => ((await rowOf(t, old.id)) === undefined ? true : undefined));
      assert.equal(await t.app.store.exists(originalKey(old.sha256)), false);
      assert.ok((await rowOf(t, recent.id))?.trashedAt, 'the image trashed a moment ago stays');
    } finally {
      await t.close();
    }
  });

  it('deletes for good at once with TRASH_DAYS=0', async () => {
    const t = await startApp({ TRASH_DAYS: '0' });
    try {
      const image = await uploadAs(t, t.auth, fixture('jpg/gps/DSCN0021.jpg'));
      assert.equal((await del(t, image.id, t.auth)).status, 204);
      assert.equal(await rowOf(t, image.id), undefined);
      assert.equal(await t.app.store.exists(originalKey(image.sha256)), false);
    } finally {
      await t.close();
    }
  });
});
