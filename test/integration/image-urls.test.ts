import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { copyFile, mkdir, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { sql } from 'kysely';
import { loadConfig } from '../../src/config.js';
import { openDatabase } from '../../src/db/database.js';
import { migrateToLatest, schemaMigrator } from '../../src/db/migrate.js';
import { originalKey } from '../../src/core/storage/blob-keys.js';
import { importFolder } from '../../src/ops/import-folder.js';
import { expectProblem } from '../helpers/accounts.js';
import { fixture, makeDataDir, servicesFor, startApp, TOKEN, type TestApp } from '../helpers/app.js';
import type { Image } from '../helpers/images.js';

const JPEG = fixture('jpg/Nikon_D70.jpg');
const OTHER = fixture('jpg/Canon_40D.jpg');
const KEY = /^[A-Za-z0-9_-]{16}$/;

async function uploadAll(t: TestApp, files: [string, Uint8Array][], fields: Record<string, string> = {}): Promise<Image[]> {
  const res = await t.upload(files, fields);
  assert.equal(res.status, 201, await res.clone().text());
  const body = (await res.json()) as Image | { items: Image[] };
  return 'items' in body ? body.items : [body];
}

const sha256Of = async (res: Response): Promise<string> => createHash('sha256').update(Buffer.from(await res.arrayBuffer())).digest('hex');

/** The key of a keyed URL, checking the whole shape: `<base>/i/<key>/<filename>`. */
function keyOf(t: TestApp, image: Image): string {
  const m = new RegExp(`^${t.url}/i/([^/]+)/([^/]+)$`).exec(image.url);
  assert.ok(m, `${image.url} is not <base>/i/<key>/<filename>`);
  assert.match(m[1]!, KEY, 'the key is 16 base64url characters: 96 random bits');
  assert.equal(decodeURIComponent(m[2]!), image.filename);
  return m[1]!;
}

describe('image URLs carry a random key beside the name (IMAGE_URLS=keyed, the default)', () => {
  let t: TestApp;
  let bytes: Buffer;
  let photo: Image;

  before(async () => {
    t = await startApp();
    bytes = await readFile(JPEG);
    photo = (await uploadAll(t, [['DSC_0001.JPG', bytes]]))[0]!;
  });
  after(() => t.close());

  it('gives each upload /i/<key>/<filename>, a key of 16 base64url characters that no other upload shares', async () => {
    assert.equal(photo.filename, 'dsc-0001.jpg', 'the filename keeps the slug rules');
    const many = await uploadAll(t, Array.from({ length: 12 }, (_, i): [string, Uint8Array] => [`same-${i % 2}.jpg`, bytes]));
    const keys = [photo, ...many].map((image) => keyOf(t, image));
    assert.equal(new Set(keys).size, keys.length, 'every key differs');
    // The same name six times: one keeps it, the others get the collision suffix as before, each under a key of its own.
    const names = many.filter((_, i) => i % 2 === 0).map((image) => image.filename);
    assert.equal(names.filter((name) => name === 'same-0.jpg').length, 1, names.join(', '));
    for (const name of names.filter((n) => n !== 'same-0.jpg')) assert.match(name, /^same-0_\d{8}T\d{12}Z\.jpg$/);
    assert.deepEqual(photo.variants, { small: `${photo.url}/small`, medium: `${photo.url}/medium` });
  });

  it('serves the stored bytes at the URL the API answered, named in Content-Disposition', async () => {
    const res = await fetch(photo.url);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-disposition'), `inline; filename="${photo.filename}"`);
    assert.equal(await sha256Of(res), photo.sha256);
    const head = await fetch(photo.url, { method: 'HEAD' });
    assert.equal(head.status, 200);
    assert.equal(head.headers.get('etag'), `"${photo.sha256}"`);
  });

  it('names an image kept under any file name (imgd import --keep-names) in Content-Disposition: an ASCII fallback and the UTF-8 name', async () => {
    const folder = path.join(t.dataDir, 'kept-names');
    await mkdir(folder);
    const names = ['фото "1".jpg', 'Café\\2.jpg'];
    for (const name of names) await copyFile(JPEG, path.join(folder, name));
    const report = await importFolder(t.app, folder, 'img_handler', () => undefined);
    assert.equal(report.imported, 2);
    const list = (await (await fetch(`${t.url}/api/v1/images?limit=100`, { headers: t.auth })).json()) as { items: Image[] };
    const dispositions: Record<string, string | null> = {};
    for (const name of names) {
      const image = list.items.find((i) => i.filename === name);
      assert.ok(image, `${name} is listed`);
      const res = await fetch(image.url, { headers: t.auth });
      assert.equal(res.status, 200, await res.clone().text());
      assert.equal(await sha256Of(res), image.sha256);
      dispositions[name] = res.headers.get('content-disposition');
    }
    assert.deepEqual(dispositions, {
      'фото "1".jpg': `inline; filename="____ _1_.jpg"; filename*=UTF-8''%D1%84%D0%BE%D1%82%D0%BE%20%221%22.jpg`,
      'Café\\2.jpg': `inline; filename="Caf__2.jpg"; filename*=UTF-8''Caf%C3%A9%5C2.jpg`,
    });
  });

  it('serves a variant at <url>/<preset>', async () => {
    const res = await fetch(photo.variants.small!, { headers: { accept: 'image/webp' } });
    assert.equal(res.status, 200, await res.clone().text());
    assert.equal(res.headers.get('content-type'), 'image/webp');
    assert.ok((await res.arrayBuffer()).byteLength > 0);
  });

  it('answers a guessed URL of a public image with 404 not_found: the name alone, a wrong key, a right key with a wrong name', async () => {
    const key = keyOf(t, photo);
    const wrongKey = key.slice(0, -1) + (key.endsWith('A') ? 'B' : 'A');
    const guesses = [
      `/i/${photo.filename}`,
      `/i/${photo.filename}/small`,
      `/i/${wrongKey}/${photo.filename}`,
      `/i/${wrongKey}/${photo.filename}/small`,
      `/i/${key}/dsc-0002.jpg`,
      `/i/${key}/dsc-0002.jpg/small`,
      `/i/${key.toLowerCase() === key ? key.toUpperCase() : key.toLowerCase()}/${photo.filename}`,
      `/i/${key.slice(1)}/${photo.filename}`,
      `/i/${key}x/${photo.filename}`,
      `/i/${photo.filename}/${key}`,
    ];
    for (const path of guesses) {
      const res = await fetch(`${t.url}${path}`);
      const problem = await expectProblem(res, 404, 'not_found');
      const told = [key, photo.filename].filter((secret) => !path.includes(secret) && problem.detail.includes(secret));
      assert.deepEqual(told, [], `${path}: the message names only what the request did`);
    }
    // A right key beside a wrong name answers exactly as a wrong key does: nothing tells that the key exists.
    const wrongName = await (await fetch(`${t.url}/i/${key}/dsc-0002.jpg`)).json();
    const unknownKey = await (await fetch(`${t.url}/i/${wrongKey}/dsc-0002.jpg`)).json();
    const shape = (p: Record<string, unknown>) => ({ ...p, instance: undefined, request_id: undefined });
    assert.deepEqual(shape(wrongName as Record<string, unknown>), shape(unknownKey as Record<string, unknown>));
  });

  it('keeps private images behind a credential at their keyed URL, and share links and signed transforms carry the key', async () => {
    const [secret] = await uploadAll(t, [['secret.jpg', await readFile(OTHER)]], { visibility: 'private' });
    await expectProblem(await fetch(secret!.url), 404, 'not_found');
    assert.equal((await fetch(secret!.url, { headers: t.auth })).status, 200);
    const share = await fetch(`${t.url}/api/v1/images/${secret!.id}/share`, {
      method: 'POST',
      headers: { ...t.auth, 'content-type': 'application/json' },
      body: JSON.stringify({ expires_in: 600 }),
    });
    const { url: shared } = (await share.json()) as { url: string };
    assert.ok(shared.startsWith(`${secret!.url}?expires=`), shared);
    const served = await fetch(shared);
    assert.equal(served.status, 200);
    assert.equal(await sha256Of(served), secret!.sha256);
    const signed = await fetch(`${t.url}/api/v1/images/${photo.id}/variant-url`, {
      method: 'POST',
      headers: { ...t.auth, 'content-type': 'application/json' },
      body: JSON.stringify({ w: 123, format: 'png' }),
    });
    const { url: transform } = (await signed.json()) as { url: string };
    assert.ok(transform.startsWith(`${photo.url}/custom?`), transform);
    const rendered = await fetch(transform);
    assert.equal(rendered.status, 200, await rendered.clone().text());
    assert.equal(rendered.headers.get('content-type'), 'image/png');
  });

  it('lists /i/{key}/{filename} in the OpenAPI document, and not /i/{filename}', async () => {
    const doc = (await (await fetch(`${t.url}/openapi.json`)).json()) as { paths: Record<string, unknown> };
    assert.ok(doc.paths['/i/{key}/{filename}'], Object.keys(doc.paths).join(', '));
    assert.ok(doc.paths['/i/{key}/{filename}/{variant}']);
    assert.equal(doc.paths['/i/{filename}'], undefined);
  });
});

describe('IMAGE_URLS=name keeps the name-only URLs', () => {
  let t: TestApp;
  before(async () => {
    t = await startApp({ IMAGE_URLS: 'name' });
  });
  after(() => t.close());

  it('answers /i/<filename>, serves it and its variants there, and routes no keyed URL', async () => {
    const [image] = await uploadAll(t, [['DSC_0001.JPG', await readFile(JPEG)]]);
    assert.equal(image!.url, `${t.url}/i/dsc-0001.jpg`);
    assert.equal(image!.variants.small, `${t.url}/i/dsc-0001.jpg/small`);
    const res = await fetch(image!.url);
    assert.equal(res.status, 200);
    assert.equal(await sha256Of(res), image!.sha256);
    assert.equal((await fetch(image!.variants.small!)).status, 200);
    const [{ url_key: key }] = (await sql<{ url_key: string }>`SELECT url_key FROM images WHERE id = ${image!.id}`.execute(t.app.db)).rows as [{ url_key: string }];
    assert.match(key, KEY, 'the key is kept all the same, ready for IMAGE_URLS=keyed');
    await expectProblem(await fetch(`${t.url}/i/${key}/${image!.filename}`), 404, 'not_found');
  });

  it('refuses another value of IMAGE_URLS at start, naming the setting', () => {
    assert.throws(() => loadConfig({ IMAGE_URLS: 'random' }), /IMAGE_URLS="random"/);
  });
});

describe('migration 006 gives every stored image a key', () => {
  it('keys the images an older imgd stored, each its own, and serves them at their keyed URL', async () => {
    const dir = await makeDataDir();
    try {
      const config = loadConfig({ DATA_DIR: dir, ...(await servicesFor(dir)) });
      const bytes = await readFile(JPEG);
      const sha256 = createHash('sha256').update(bytes).digest('hex');
      const db = openDatabase(config.database);
      try {
        const older = await schemaMigrator(db).migrateTo('005_compat');
        assert.equal(older.error, undefined);
        const at = new Date().toISOString();
        await sql`INSERT INTO blobs (sha256, bytes, format, content_type, width, height, ref_count, created_at)
          VALUES (${sha256}, ${bytes.length}, 'jpeg', 'image/jpeg', 1, 1, 3, ${at})`.execute(db);
        for (const n of [1, 2, 3]) {
          await sql`INSERT INTO images (id, filename, sha256, format, content_type, bytes, width, height, status, visibility, created_at, updated_at)
            VALUES (${`older${n}`}, ${`older-${n}.jpg`}, ${sha256}, 'jpeg', 'image/jpeg', ${bytes.length}, 1, 1, 'ready', 'public', ${at}, ${at})`.execute(db);
        }
        assert.equal((await migrateToLatest(db))[0], '006_url_keys');
        const keys = (await sql<{ url_key: string }>`SELECT url_key FROM images ORDER BY id`.execute(db)).rows.map((r) => r.url_key);
        assert.equal(keys.length, 3);
        for (const key of keys) assert.match(key, KEY);
        assert.equal(new Set(keys).size, 3);
      } finally {
        await db.destroy();
      }
      const t = await startApp({}, dir);
      try {
        await t.app.store.putBytes(originalKey(sha256), bytes);
        const res = await fetch(`${t.url}/api/v1/images/older2`, { headers: { authorization: `Bearer ${TOKEN}` } });
        const image = (await res.json()) as Image;
        keyOf(t, image);
        const served = await fetch(image.url);
        assert.equal(served.status, 200);
        assert.equal(await sha256Of(served), sha256);
        await expectProblem(await fetch(`${t.url}/i/older-2.jpg`), 404, 'not_found');
      } finally {
        await t.close();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
