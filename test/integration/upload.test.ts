import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFile, readdir } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import { originalKey } from '../../src/core/storage/blob-keys.js';
import { fixture, FIXTURES, startApp, type TestApp } from '../helpers/app.js';

describe('uploading images', () => {
  let t: TestApp;
  before(async () => {
    t = await startApp();
  });
  after(() => t.close());

  it('stores a JPEG and answers 201 with the image object', async () => {
    const file = fixture('jpg/orientation/landscape_2.jpg');
    const bytes = await readFile(file);
    const res = await t.upload([file], { description: 'A bridge', key: 'user123', visibility: 'public' });
    assert.equal(res.status, 201);
    const body = (await res.json()) as Record<string, unknown>;
    assert.equal(body.filename, 'landscape-2.jpg');
    assert.equal(body.original_name, 'landscape_2.jpg');
    assert.equal(body.content_type, 'image/jpeg');
    assert.equal(body.format, 'jpeg');
    assert.equal(body.bytes, bytes.length);
    assert.equal(body.width, 600);
    assert.equal(body.height, 450);
    assert.equal(body.sha256, createHash('sha256').update(bytes).digest('hex'));
    assert.equal(body.status, 'processing', 'background jobs finish the image after the answer');
    assert.equal(body.key, 'user123');
    assert.equal(body.description, 'A bridge');
    assert.match(String(body.url), new RegExp(`^${t.url}/i/[A-Za-z0-9_-]{16}/landscape-2\\.jpg$`));
    const served = await fetch(body.url as string);
    assert.equal(served.status, 200);
    assert.deepEqual(Buffer.from(await served.arrayBuffer()), bytes);
  });

  it('names a second upload of the same name with a UTC timestamp and stores the bytes once', async () => {
    const file = fixture('jpg/gps/DSCN0012.jpg');
    const first = (await (await t.upload([file])).json()) as { filename: string; sha256: string };
    const second = (await (await t.upload([file])).json()) as { filename: string; sha256: string };
    assert.equal(first.filename, 'dscn0012.jpg');
    assert.match(second.filename, /^dscn0012_\d{8}T\d{12}Z\.jpg$/);
    assert.equal(first.sha256, second.sha256);
    assert.deepEqual(await t.blobKeys(`originals/${first.sha256.slice(0, 2)}/`), [originalKey(first.sha256)]);
  });

  it('accepts every GPS and orientation photo among the fixtures', async () => {
    for (const folder of ['jpg/gps', 'jpg/orientation']) {
      const names = await readdir(`${FIXTURES}/${folder}`);
      for (const name of names) {
        const res = await t.upload([fixture(`${folder}/${name}`)]);
        assert.equal(res.status, 201, `${folder}/${name}: ${await res.clone().text()}`);
      }
    }
  });

  it('takes several files in one request and answers items and errors', async () => {
    const res = await t.upload([fixture('jpg/Canon_40D.jpg'), ['notes.png', Buffer.from('just some text, not a picture')], fixture('tiff/Arbitro.tiff')]);
    assert.equal(res.status, 201);
    const body = (await res.json()) as { items: { format: string }[]; errors: { code: string; original_name: string }[] };
    assert.deepEqual(body.items.map((i) => i.format), ['jpeg', 'tiff']);
    assert.equal(body.errors.length, 1);
    assert.equal(body.errors[0]?.code, 'unsupported_format');
    assert.equal(body.errors[0]?.original_name, 'notes.png');
  });

  it('answers the items of a batch in the order the files were sent, a large one first', async () => {
    const names = ['jpg/Reconyx_HC500_Hyperfire.jpg', 'jpg/Canon_40D.jpg', 'jpg/Nikon_D70.jpg', 'jpg/orientation/landscape_2.jpg', 'jpg/tests/32-lens_data.jpeg'];
    const res = await t.upload(names.map((name) => fixture(name)));
    assert.equal(res.status, 201);
    const body = (await res.json()) as { items: { original_name: string }[] };
    assert.deepEqual(
      body.items.map((i) => i.original_name),
      names.map((name) => name.split('/').at(-1)),
    );
  });

  it('takes a raw PUT body and detects the format from the bytes', async () => {
    const bytes = await readFile(fixture('jpg/xmp/BlueSquare.jpg'));
    const res = await fetch(`${t.url}/api/v1/images?filename=My%20Holiday%20Photo.jpeg&key=product/42/main&visibility=private`, {
      method: 'PUT',
      body: bytes,
      headers: { ...t.auth, 'content-type': 'application/octet-stream' },
    });
    assert.equal(res.status, 201);
    const body = (await res.json()) as Record<string, unknown>;
    assert.equal(body.filename, 'my-holiday-photo.jpg');
    assert.equal(body.key, 'product/42/main');
    assert.equal(body.visibility, 'private');
    assert.equal(body.bytes, bytes.length);
  });

  it('refuses an upload without a credential and stores nothing', async () => {
    const before = await t.stored();
    const res = await t.upload([fixture('jpg/Canon_40D.jpg')], {}, {});
    assert.equal(res.status, 401);
    assert.equal(res.headers.get('content-type'), 'application/problem+json; charset=utf-8');
    assert.equal(((await res.json()) as { code: string }).code, 'unauthorized');
    assert.deepEqual(await t.stored(), before);
  });
});
