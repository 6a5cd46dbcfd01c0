// `imgd import <folder> --keep-names`: seed 000's and 003's upload folders moved in; old URLs serve the same bytes, re-runs add nothing.
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startCompatApp, TOKEN, type CompatTestApp } from '../helpers/app.js';
import { nativeUrl, photo, photoAs } from '../helpers/compat.js';
import { runCli } from '../helpers/processes.js';

const SECRET = 'change-me-to-a-long-random-secret';
const admin = { authorization: `Bearer ${TOKEN}` };

describe('imgd import <folder> --keep-names', () => {
  let t: CompatTestApp;
  let folder: string;
  let png: Buffer;
  let jpeg: Buffer;
  let env: Record<string, string>;
  before(async () => {
    png = await photoAs('png');
    jpeg = await photo();
    t = await startCompatApp('img_handler:own,media_server:own', { MEDIA_SERVER_SECRET: SECRET });
    env = { ...t.settings, DATA_DIR: t.dataDir, AUTH_TOKEN: TOKEN };
    folder = await mkdtemp(path.join(os.tmpdir(), 'imgd-seed-folder-'));
  });
  after(async () => {
    await t.close();
    await rm(folder, { recursive: true, force: true });
  });

  it("moves img_handler's UPLOAD_DIR in: /image/<name> serves the same bytes; non-images reported and skipped; a re-run adds nothing", async () => {
    const uploads = path.join(folder, 'img_handler');
    await mkdir(path.join(uploads, 'nested'), { recursive: true });
    await writeFile(path.join(uploads, 'my-image_20260207T120102123456Z.png'), png);
    await writeFile(path.join(uploads, 'holiday.jpg'), jpeg);
    await writeFile(path.join(uploads, 'notes.txt'), 'not an image');
    const first = await runCli(['import', uploads, '--keep-names'], env);
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stdout, /skipped notes\.txt: /);
    assert.match(first.stdout, /skipped nested: not a file/);
    assert.match(first.stdout, /imported 2 image\(s\) from .*; 0 already present, 2 skipped/);
    const base = t.at('img_handler');
    for (const [name, bytes] of [['my-image_20260207T120102123456Z.png', png], ['holiday.jpg', jpeg]] as const) {
      const res = await fetch(`${base}/image/${name}`, { headers: admin });
      assert.equal(res.status, 200, name);
      assert.deepEqual(Buffer.from(await res.arrayBuffer()), bytes);
      assert.equal((await fetch(await nativeUrl(t, name))).status, 404, 'private, as img_handler uploads are');
    }
    const before = await t.stored();
    const again = await runCli(['import', uploads, '--keep-names'], env);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /imported 0 image\(s\) from .*; 2 already present, 2 skipped/);
    assert.deepEqual(await t.stored(), before);
  });

  it("moves media_server's folder in as its token uploads: /media/<name> serves them publicly and the seed's DELETE works", async () => {
    const media = path.join(folder, 'media');
    await mkdir(media);
    const name = '3f9c0a1b2c3d4e5f60718293a4b5c6e1.png';
    await writeFile(path.join(media, name), png);
    const run = await runCli(['import', media, '--keep-names', '--for', 'media_server'], env);
    assert.equal(run.code, 0, run.stderr);
    const base = t.at('media_server');
    const res = await fetch(`${base}/media/${name}`);
    assert.equal(res.status, 200);
    assert.deepEqual(Buffer.from(await res.arrayBuffer()), png);
    const ts = String(Math.floor(Date.now() / 1000));
    const token = `${ts}.${createHmac('sha256', SECRET).update(ts).digest('hex')}`;
    const deleted = await fetch(`${base}/media/${name}?token=${token}`, { method: 'DELETE' });
    assert.deepEqual(await deleted.json(), { detail: `Deleted ${name}` });
  });

  it('refuses --keep-names on a file (an archive is restored without it) with a usage error', async () => {
    const file = path.join(folder, 'archive.tar');
    await writeFile(file, 'x');
    const onFile = await runCli(['import', file, '--keep-names'], env);
    assert.equal(onFile.code, 2);
    assert.match(onFile.stderr, /--keep-names takes a folder/);
  });
});
