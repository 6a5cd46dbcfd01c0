import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fixture, startApp, type TestApp } from '../helpers/app.js';
import { expectProblem, json, signUp } from '../helpers/accounts.js';
import { local, postJson, ready, rowOf, statusOf, uploadAs, type LibraryImage } from '../helpers/library.js';

interface BulkResult {
  id: string;
  ok: boolean;
  status: number;
  code?: string;
}
const sha = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');
const listIds = async (t: TestApp, auth: Record<string, string>, query: string): Promise<{ ids: string[]; next: string | null }> => {
  const res = await fetch(`${t.url}/api/v1/images?${query}`, { headers: auth });
  assert.equal(res.status, 200, await res.clone().text());
  const body = (await res.json()) as { items: LibraryImage[]; next_cursor: string | null };
  return { ids: body.items.map((i) => i.id), next: body.next_cursor };
};
const bulk = (t: TestApp, auth: Record<string, string>, body: unknown): Promise<Response> => fetch(`${t.url}/api/v1/images/bulk`, json(body, auth));

describe('the library API', () => {
  let t: TestApp;
  let alice: Awaited<ReturnType<typeof signUp>>;
  let bob: Awaited<ReturnType<typeof signUp>>;
  /** Alice's, in upload order. */
  let mine: LibraryImage[];
  let bobs: LibraryImage;

  before(async () => {
    t = await startApp({ REGISTRATION: 'open' });
    alice = await signUp(t, 'alice');
    bob = await signUp(t, 'bob');
    mine = [];
    for (const [name, file] of [['b-middle.jpg', 'jpg/Canon_40D.jpg'], ['c-last.jpg', 'jpg/tests/32-lens_data.jpeg'], ['a-first.jpg', 'jpg/orientation/landscape_5.jpg']] as const) {
      mine.push(await uploadAs(t, alice.auth, [name, await readFile(fixture(file))], { visibility: 'private' }));
    }
    bobs = await uploadAs(t, bob.auth, fixture('jpg/orientation/portrait_5.jpg'), { visibility: 'private' });
  });
  after(() => t.close());

  it('sorts by newest, oldest, name and size, and pages each order with its own cursor', async () => {
    const ids = (images: LibraryImage[]) => images.map((i) => i.id);
    assert.deepEqual((await listIds(t, alice.auth, 'sort=newest')).ids, ids([...mine].reverse()));
    assert.deepEqual((await listIds(t, alice.auth, 'sort=oldest')).ids, ids(mine));
    assert.deepEqual((await listIds(t, alice.auth, 'sort=name')).ids, ids([...mine].sort((a, b) => a.filename.localeCompare(b.filename))));
    const bySize = ids([...mine].sort((a, b) => b.bytes - a.bytes));
    assert.deepEqual((await listIds(t, alice.auth, 'sort=size')).ids, bySize);
    const first = await listIds(t, alice.auth, 'sort=size&limit=2');
    assert.deepEqual(first.ids, bySize.slice(0, 2));
    const rest = await listIds(t, alice.auth, `sort=size&limit=2&cursor=${first.next}`);
    assert.deepEqual(rest.ids, bySize.slice(2));
    await expectProblem(await fetch(`${t.url}/api/v1/images?sort=name&cursor=${first.next}`, { headers: alice.auth }), 400, 'invalid_cursor');
    await expectProblem(await fetch(`${t.url}/api/v1/images?sort=biggest`, { headers: alice.auth }), 400, 'validation_failed');
  });

  it('changes visibility in bulk with a result per image: unknown ids and others\' images fail alone, and nothing of theirs changes', async () => {
    const res = await bulk(t, alice.auth, { action: 'set_visibility', visibility: 'public', ids: [mine[0]!.id, 'no-such-image', bobs.id] });
    assert.equal(res.status, 200, await res.clone().text());
    const { results } = (await res.json()) as { results: BulkResult[] };
    assert.deepEqual(
      results.map((r) => [r.id, r.ok, r.status, r.code]),
      [
        [mine[0]!.id, true, 200, undefined],
        ['no-such-image', false, 404, 'not_found'],
        [bobs.id, false, 404, 'not_found'],
      ],
    );
    assert.equal((await rowOf(t, mine[0]!.id))?.visibility, 'public');
    assert.equal((await rowOf(t, bobs.id))?.visibility, 'private', "bob's image is as it was");
    assert.equal(await statusOf(local(t, mine[0]!.url)), 200, 'public now');
  });

  it('trashes, restores and moves to an album in bulk, and refuses a request wrong as a whole with nothing done', async () => {
    const album = await postJson<{ id: string }>(t, '/api/v1/albums', { name: 'Bulk' }, alice.auth, 201);
    const bobsAlbum = await postJson<{ id: string }>(t, '/api/v1/albums', { name: 'Bob\'s' }, bob.auth, 201);
    const ids = mine.map((i) => i.id);

    await expectProblem(await bulk(t, alice.auth, { action: 'add_to_album', album_id: bobsAlbum.id, ids }), 404, 'not_found');
    await expectProblem(await bulk(t, alice.auth, { action: 'add_to_album', ids }), 400, 'validation_failed');
    await expectProblem(await bulk(t, alice.auth, { action: 'set_visibility', ids }), 400, 'validation_failed');
    await expectProblem(await bulk(t, alice.auth, { action: 'explode', ids }), 400, 'validation_failed');
    await expectProblem(await bulk(t, alice.auth, { action: 'trash', ids: [] }), 400, 'validation_failed');
    await expectProblem(await bulk(t, alice.auth, { action: 'trash', ids: Array.from({ length: 501 }, (_, i) => `id${i}`) }), 400, 'validation_failed');
    await expectProblem(await bulk(t, {}, { action: 'trash', ids }), 401, 'unauthorized');
    assert.equal((await listIds(t, alice.auth, '')).ids.length, 3, 'nothing was trashed');
    assert.equal(((await (await fetch(`${t.url}/api/v1/albums/${bobsAlbum.id}`, { headers: bob.auth })).json()) as { image_count: number }).image_count, 0);

    const added = (await (await bulk(t, alice.auth, { action: 'add_to_album', album_id: album.id, ids: [...ids, bobs.id] })).json()) as { results: BulkResult[] };
    assert.deepEqual(added.results.map((r) => r.ok), [true, true, true, false]);
    assert.equal(((await (await fetch(`${t.url}/api/v1/albums/${album.id}`, { headers: alice.auth })).json()) as { image_count: number }).image_count, 3);

    const trashed = (await (await bulk(t, alice.auth, { action: 'trash', ids: [ids[0], ids[1], bobs.id] })).json()) as { results: BulkResult[] };
    assert.deepEqual(trashed.results.map((r) => [r.ok, r.status]), [[true, 200], [true, 200], [false, 404]]);
    assert.deepEqual((await listIds(t, alice.auth, '')).ids, [ids[2]]);
    assert.equal((await rowOf(t, bobs.id))?.trashedAt, null, "bob's image was not trashed");

    const restored = (await (await bulk(t, alice.auth, { action: 'restore', ids: [ids[0], ids[1], ids[2]] })).json()) as { results: BulkResult[] };
    assert.deepEqual(restored.results.map((r) => [r.ok, r.code]), [[true, undefined], [true, undefined], [false, 'not_found']], 'an image not in the trash is not restored');
    assert.equal((await listIds(t, alice.auth, '')).ids.length, 3);
  });

  it('downloads one original under its uploaded name, and a zip of a selection', async () => {
    const res = await fetch(`${t.url}/api/v1/images/${mine[1]!.id}/download`, { headers: alice.auth });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-disposition'), 'attachment; filename="c-last.jpg"');
    const bytes = new Uint8Array(await res.arrayBuffer());
    assert.equal(sha(bytes), mine[1]!.sha256);
    await expectProblem(await fetch(`${t.url}/api/v1/images/${mine[1]!.id}/download`, { headers: bob.auth }), 404, 'not_found');
    await expectProblem(await fetch(`${t.url}/api/v1/images/${mine[1]!.id}/download`), 401, 'unauthorized');

    const zip = await fetch(`${t.url}/api/v1/images/download`, json({ ids: mine.map((i) => i.id) }, alice.auth));
    assert.equal(zip.status, 200, zip.status === 200 ? '' : await zip.clone().text());
    assert.equal(zip.headers.get('content-type'), 'application/zip');
    const dir = await mkdtemp(path.join(os.tmpdir(), 'imgd-zip-'));
    try {
      await writeFile(path.join(dir, 'all.zip'), new Uint8Array(await zip.arrayBuffer()));
      const unzipped = spawnSync('unzip', ['-q', 'all.zip', '-d', 'out'], { cwd: dir, encoding: 'utf8' });
      assert.equal(unzipped.status, 0, unzipped.stderr);
      for (const image of mine) assert.equal(sha(await readFile(path.join(dir, 'out', image.filename))), image.sha256, image.filename);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
    await expectProblem(await fetch(`${t.url}/api/v1/images/download`, json({ ids: [mine[0]!.id, bobs.id] }, alice.auth)), 404, 'not_found');
    await expectProblem(await fetch(`${t.url}/api/v1/images/download`, json({ ids: [] }, alice.auth)), 400, 'validation_failed');
  });

  it('serves a viewer page with Open Graph and Twitter card tags, a variant as og:image and a raw link; private images only by a share link', async () => {
    const image = mine[2]!;
    await ready(t, image);
    assert.equal(await statusOf(local(t, image.page_url)), 404, 'private: no page without a share link');
    const share = await postJson<{ page_url: string }>(t, `/api/v1/images/${image.id}/share`, { expires_in: 600 }, alice.auth);
    const res = await fetch(local(t, share.page_url));
    const html = await res.text();
    assert.equal(res.status, 200, html);
    assert.match(res.headers.get('content-security-policy') ?? '', /default-src 'none'/);
    const meta = (name: string): string | undefined => html.match(new RegExp(`<meta (?:property|name)="${name}" content="([^"]*)">`))?.[1]?.replace(/&amp;/g, '&');
    assert.equal(meta('og:title'), 'a-first.jpg');
    assert.equal(meta('twitter:card'), 'summary_large_image');
    const ogImage = meta('og:image')!;
    assert.match(ogImage, /\/medium\?expires=\d+&sig=[^&]+&format=jpeg$/);
    const variant = await fetch(local(t, ogImage));
    assert.equal(variant.status, 200);
    assert.equal(variant.headers.get('content-type'), 'image/jpeg');
    await variant.arrayBuffer();
    assert.equal(meta('twitter:image'), ogImage);
    assert.ok(Number(meta('og:image:width')) > 0 && Number(meta('og:image:height')) > 0);
    const raw = html.match(/<a href="([^"]+)" rel="nofollow">Raw image<\/a>/)?.[1]?.replace(/&amp;/g, '&');
    assert.ok(raw, 'a raw link');
    assert.equal(await statusOf(local(t, raw)), 200);
    assert.equal(await statusOf(`${t.url}/v/not-a-key`), 404);
  });
});
