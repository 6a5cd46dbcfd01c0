import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { fixture, startApp, type TestApp } from '../helpers/app.js';
import { expectProblem, json, signUp } from '../helpers/accounts.js';
import { local, postJson, statusOf, uploadAs, type LibraryImage } from '../helpers/library.js';

interface Album {
  id: string;
  name: string;
  owner_id: string | null;
  image_count: number;
  cover: LibraryImage | null;
}

const send = (t: TestApp, method: string, path: string, auth: Record<string, string>, body?: unknown): Promise<Response> =>
  fetch(`${t.url}${path}`, body === undefined ? { method, headers: auth } : { ...json(body, auth), method });

describe('albums', () => {
  let t: TestApp;
  let alice: Awaited<ReturnType<typeof signUp>>;
  let bob: Awaited<ReturnType<typeof signUp>>;
  let photos: LibraryImage[];

  before(async () => {
    t = await startApp({ REGISTRATION: 'open' });
    alice = await signUp(t, 'alice');
    bob = await signUp(t, 'bob');
    photos = [];
    for (const file of ['jpg/Canon_40D.jpg', 'jpg/Nikon_D70.jpg']) photos.push(await uploadAs(t, alice.auth, fixture(file), { visibility: 'private' }));
  });
  after(() => t.close());

  it('makes, renames, fills, lists, empties and deletes an album, the images staying in the library', async () => {
    const album = await postJson<Album>(t, '/api/v1/albums', { name: '  Holiday  ' }, alice.auth, 201);
    assert.equal(album.name, 'Holiday');
    assert.equal(album.owner_id, alice.user.id);
    for (const photo of photos) assert.equal((await send(t, 'PUT', `/api/v1/albums/${album.id}/images/${photo.id}`, alice.auth)).status, 204);
    assert.equal((await send(t, 'PUT', `/api/v1/albums/${album.id}/images/${photos[0]!.id}`, alice.auth)).status, 204, 'adding twice is harmless');

    const renamed = await send(t, 'PATCH', `/api/v1/albums/${album.id}`, alice.auth, { name: 'Summer' });
    assert.equal(renamed.status, 200, await renamed.clone().text());
    const got = (await renamed.json()) as Album;
    assert.equal(got.name, 'Summer');
    assert.equal(got.image_count, 2);
    assert.equal(got.cover?.id, photos[1]!.id, 'the newest image is the cover');

    const listed = (await (await send(t, 'GET', '/api/v1/albums', alice.auth)).json()) as { items: Album[] };
    assert.deepEqual(listed.items.map((a) => a.id), [album.id]);
    const inside = (await (await send(t, 'GET', `/api/v1/albums/${album.id}/images`, alice.auth)).json()) as { items: LibraryImage[] };
    assert.deepEqual(inside.items.map((i) => i.id), [photos[1]!.id, photos[0]!.id]);

    // A trashed image leaves the album's views, and comes back with a restore.
    assert.equal((await send(t, 'DELETE', `/api/v1/images/${photos[0]!.id}`, alice.auth)).status, 204);
    assert.equal(((await (await send(t, 'GET', `/api/v1/albums/${album.id}`, alice.auth)).json()) as Album).image_count, 1);
    assert.equal((await send(t, 'POST', `/api/v1/trash/${photos[0]!.id}/restore`, alice.auth)).status, 200);
    assert.equal(((await (await send(t, 'GET', `/api/v1/albums/${album.id}`, alice.auth)).json()) as Album).image_count, 2);

    assert.equal((await send(t, 'DELETE', `/api/v1/albums/${album.id}/images/${photos[0]!.id}`, alice.auth)).status, 204);
    await expectProblem(await send(t, 'DELETE', `/api/v1/albums/${album.id}/images/${photos[0]!.id}`, alice.auth), 404, 'not_found');
    assert.equal((await send(t, 'DELETE', `/api/v1/albums/${album.id}`, alice.auth)).status, 204);
    await expectProblem(await send(t, 'GET', `/api/v1/albums/${album.id}`, alice.auth), 404, 'not_found');
    for (const photo of photos) assert.equal((await send(t, 'GET', `/api/v1/images/${photo.id}`, alice.auth)).status, 200, 'the images stay');
  });

  it("refuses other users' albums and images with 404, bad names and bad cursors with 400, and changes nothing", async () => {
    const album = await postJson<Album>(t, '/api/v1/albums', { name: 'Private' }, alice.auth, 201);
    const bobs = await uploadAs(t, bob.auth, fixture('jpg/orientation/landscape_3.jpg'));
    assert.equal((await send(t, 'PUT', `/api/v1/albums/${album.id}/images/${photos[0]!.id}`, alice.auth)).status, 204);
    await expectProblem(await send(t, 'DELETE', `/api/v1/albums/${album.id}/images/${photos[0]!.id}`, bob.auth), 404, 'not_found');
    await expectProblem(await send(t, 'GET', `/api/v1/albums/${album.id}`, bob.auth), 404, 'not_found');
    await expectProblem(await send(t, 'PATCH', `/api/v1/albums/${album.id}`, bob.auth, { name: 'Mine now' }), 404, 'not_found');
    await expectProblem(await send(t, 'DELETE', `/api/v1/albums/${album.id}`, bob.auth), 404, 'not_found');
    await expectProblem(await send(t, 'PUT', `/api/v1/albums/${album.id}/images/${bobs.id}`, bob.auth), 404, 'not_found');
    await expectProblem(await send(t, 'GET', `/api/v1/albums/${album.id}/images`, bob.auth), 404, 'not_found');
    await expectProblem(await send(t, 'POST', `/api/v1/albums/${album.id}/share`, bob.auth, { expires_in: 60 }), 404, 'not_found');
    assert.equal(((await (await send(t, 'GET', '/api/v1/albums', bob.auth)).json()) as { items: Album[] }).items.length, 0, "bob's list has none of alice's");
    // Alice cannot put bob's image (public, but not hers) into her album.
    await expectProblem(await send(t, 'PUT', `/api/v1/albums/${album.id}/images/${bobs.id}`, alice.auth), 404, 'not_found');
    await expectProblem(await send(t, 'PUT', `/api/v1/albums/${album.id}/images/no-such-image`, alice.auth), 404, 'not_found');

    await expectProblem(await send(t, 'POST', '/api/v1/albums', alice.auth, { name: '   ' }), 400, 'validation_failed');
    await expectProblem(await send(t, 'POST', '/api/v1/albums', alice.auth, { name: 'x'.repeat(201) }), 400, 'validation_failed');
    await expectProblem(await send(t, 'POST', '/api/v1/albums', alice.auth, { name: 'ok', extra: 1 }), 400, 'validation_failed');
    await expectProblem(await send(t, 'POST', '/api/v1/albums', {}, { name: 'anonymous' }), 401, 'unauthorized');
    await expectProblem(await send(t, 'GET', '/api/v1/albums?cursor=garbage', alice.auth), 400, 'invalid_cursor');
    await expectProblem(await send(t, 'POST', `/api/v1/albums/${album.id}/share`, alice.auth, { expires_in: 10 ** 9 }), 400, 'validation_failed');

    const now = (await (await send(t, 'GET', `/api/v1/albums/${album.id}`, alice.auth)).json()) as Album;
    assert.equal(now.name, 'Private');
    assert.equal(now.image_count, 1, 'only the image alice put in');
    assert.equal(((await (await send(t, 'GET', '/api/v1/albums', alice.auth)).json()) as { items: Album[] }).items.length, 1, 'no album was made');
  });

  it('shares an album by a signed link whose page shows its images, private ones included, to anyone until it expires', async () => {
    const album = await postJson<Album>(t, '/api/v1/albums', { name: 'Shared <b>album</b>' }, alice.auth, 201);
    for (const photo of photos) assert.equal((await send(t, 'PUT', `/api/v1/albums/${album.id}/images/${photo.id}`, alice.auth)).status, 204);
    const { url } = await postJson<{ url: string }>(t, `/api/v1/albums/${album.id}/share`, { expires_in: 600 }, alice.auth);
    const res = await fetch(local(t, url));
    const html = await res.text();
    assert.equal(res.status, 200, html);
    assert.match(res.headers.get('content-type') ?? '', /^text\/html/);
    assert.match(html, /<meta property="og:title" content="Shared &lt;b&gt;album&lt;\/b&gt;">/, 'the name is escaped');
    assert.match(html, /<meta property="og:description" content="2 images">/);
    const thumbs = [...html.matchAll(/<img src="([^"]+)"/g)].map((m) => m[1]!.replace(/&amp;/g, '&'));
    assert.equal(thumbs.length, 2);
    for (const thumb of thumbs) assert.equal(await statusOf(local(t, thumb)), 200, `a private image of the album is served through the album's link: ${thumb}`);

    const tampered = url.replace(/sig=[^&]+/, 'sig=AAAA');
    assert.equal(await statusOf(local(t, tampered)), 404);
    assert.equal(await statusOf(local(t, url.replace(/expires=\d+/, `expires=${Math.floor(Date.now() / 1000) + 9999}`))), 404, 'the expiry is signed');
    assert.equal(await statusOf(`${t.url}/v/a/${album.id}`), 404, 'no link, no page');
    const imageSig = (await postJson<{ url: string }>(t, `/api/v1/images/${photos[0]!.id}/share`, { expires_in: 600 }, alice.auth)).url.split('?')[1]!;
    assert.equal(await statusOf(`${t.url}/v/a/${album.id}?${imageSig}`), 404, "an image's signature is no album's");
  });
});
