// PUBLIC_TREE: imgd keeps hard links to its public originals at their URL paths; nginx with the shipped
// deploy/nginx/imgd-public.conf serves them without imgd, and everything else (private, gone, query strings) through it.
import assert from 'node:assert/strict';
import { readFile, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { expectProblem } from '../helpers/accounts.js';
import { assertOneLineFailure } from '../helpers/cli.js';
import { fixture, makeDataDir, servicesFor, startApp, type TestApp } from '../helpers/app.js';
import { nginxMissing, shippedSnippet, startNginx, type Nginx } from '../helpers/nginx.js';
import { pngWithGarbledPixels } from '../helpers/damaged.js';
import { runCli } from '../helpers/processes.js';
import { waitFor } from '../helpers/wait.js';

const JPEG = fixture('jpg/xmp/BlueSquare.jpg');
let distinct = 0;
/** Bytes no other image of the test has (each its own blob): the next of the orientation samples. */
const other = (): Promise<Buffer> => readFile(fixture(`jpg/orientation/${(distinct += 1) <= 8 ? 'landscape' : 'portrait'}_${((distinct - 1) % 8) + 1}.jpg`));

interface ImageView {
  id: string;
  url: string;
  sha256: string;
  filename: string;
  variants: Record<string, string>;
}

const originalFile = (t: TestApp, sha: string): string => path.join(t.dataDir, 'blobs', 'originals', sha.slice(0, 2), sha.slice(2, 4), sha);
const entryOf = (t: TestApp, image: ImageView): string => path.join(t.dataDir, 'public', new URL(image.url).pathname);
const gone = (file: string): Promise<boolean> => stat(file).then(() => false, (err: NodeJS.ErrnoException) => err.code === 'ENOENT');

/** Runs with the process's own group as STORE_GROUP: the modes are what nginx's group (www-data) would get. */
const GROUP = String(process.getgid?.() ?? 0);
/** The disk store in either profile (the scale profile's database and queue stay). */
const startPublishing = (): Promise<TestApp> => startApp({ STORAGE: 'fs', PUBLIC_TREE: 'true', STORE_GROUP: GROUP, JOB_BACKOFF_MS: '10' });

async function upload(t: TestApp, name: string, bytes: Buffer, visibility = 'public'): Promise<ImageView> {
  const res = await t.upload([[name, bytes]], { visibility });
  assert.equal(res.status, 201, await res.clone().text());
  return (await res.json()) as ImageView;
}

const api = (t: TestApp, route: string, method: string, body?: unknown): Promise<Response> =>
  fetch(`${t.url}/api/v1${route}`, { method, headers: { ...t.auth, ...(body ? { 'content-type': 'application/json' } : {}) }, body: body ? JSON.stringify(body) : undefined });

describe('the public tree on disk (PUBLIC_TREE)', () => {
  let t: TestApp;
  let bytes: Buffer;

  before(async () => {
    t = await startPublishing();
    bytes = await readFile(JPEG);
  });
  after(() => t.close());

  it('links a public original at its URL path, readable by the group only there', async () => {
    const image = await upload(t, 'tree.jpg', bytes);
    const entry = await stat(entryOf(t, image));
    const blob = await stat(originalFile(t, image.sha256));
    assert.equal(entry.ino, blob.ino, 'the entry is a hard link to the stored file');
    assert.equal(entry.mode & 0o777, 0o640);
    assert.equal(entry.gid, Number(GROUP));
    assert.equal((await stat(path.dirname(entryOf(t, image)))).mode & 0o777, 0o750);
    assert.equal((await stat(path.join(t.dataDir, 'public'))).mode & 0o777, 0o750);
    assert.equal((await stat(t.dataDir)).mode & 0o777, 0o710, 'the group passes through the data dir, and lists nothing');
    assert.equal((await stat(path.join(t.dataDir, 'blobs'))).mode & 0o777, 0o700, 'the store stays imgd\'s alone');
  });

  it('leaves a private original out, its file imgd\'s alone', async () => {
    const hidden = await upload(t, 'tree-private.jpg', await other(), 'private');
    assert.ok(await gone(entryOf(t, hidden)));
    assert.equal((await stat(originalFile(t, hidden.sha256))).mode & 0o777, 0o600);
  });

  it('removes the entry when the image is made private, and gives the file back to imgd alone', async () => {
    const image = await upload(t, 'tree-made-private.jpg', await other());
    assert.equal((await api(t, `/images/${image.id}`, 'PATCH', { visibility: 'private' })).status, 200);
    assert.ok(await gone(entryOf(t, image)));
    assert.ok(await gone(path.dirname(entryOf(t, image))), 'the key\'s folder goes with it');
    assert.equal((await stat(originalFile(t, image.sha256))).mode & 0o777, 0o600);
    assert.equal((await api(t, `/images/${image.id}`, 'PATCH', { visibility: 'public' })).status, 200);
    assert.equal((await stat(entryOf(t, image))).ino, (await stat(originalFile(t, image.sha256))).ino);
  });

  it('keeps the entry of a public image through an edit and its processing, linked to the same file', async () => {
    const image = await upload(t, 'tree-edited.jpg', await other());
    const before = await stat(entryOf(t, image));
    assert.equal((await api(t, `/images/${image.id}`, 'PATCH', { description: 'still public' })).status, 200);
    await waitFor('processing to finish', async () => {
      const body = (await (await fetch(`${t.url}/api/v1/images/${image.id}`, { headers: t.auth })).json()) as { status: string };
      return body.status === 'ready' ? true : undefined;
    });
    const after = await stat(entryOf(t, image));
    assert.equal(after.ino, (await stat(originalFile(t, image.sha256))).ino);
    assert.equal(after.ctimeMs, before.ctimeMs, 'not linked again: the entry was left as it was');
  });

  it('removes the entry of an image whose processing failed', async () => {
    const image = await upload(t, 'garbled.png', await pngWithGarbledPixels());
    await waitFor('processing to give up on the image', async () => {
      const body = (await (await fetch(`${t.url}/api/v1/images/${image.id}`, { headers: t.auth })).json()) as { status: string };
      return body.status === 'failed' ? true : undefined;
    });
    assert.ok(await gone(entryOf(t, image)));
  });

  it('is reported by imgd doctor, its group modes not counted as problems', async () => {
    const run = await runCli(['doctor', '--json'], { ...t.settings, DATA_DIR: t.dataDir, STORAGE: 'fs', PUBLIC_TREE: 'true', STORE_GROUP: GROUP });
    const report = JSON.parse(run.stdout) as { checks: Array<{ name: string; status: string; detail: string; problems?: string[] }> };
    const check = (name: string) => report.checks.find((c) => c.name === name);
    assert.equal(check('file modes')?.status, 'ok', JSON.stringify(check('file modes')));
    assert.match(check('file modes')!.detail, new RegExp(`public tree .* readable by group ${GROUP}`));
    assert.equal(check('public tree')?.status, 'ok', run.stdout);
  });

  it('builds the tree from the catalog when it was not built (a restart after PUBLIC_TREE was off)', async () => {
    const dataDir = await makeDataDir();
    const off = await startApp({ STORAGE: 'fs' }, dataDir);
    let image: ImageView;
    try {
      image = await upload(off, 'before-tree.jpg', bytes);
      await upload(off, 'before-tree-private.jpg', await other(), 'private');
    } finally {
      await off.close();
    }
    const on = await startApp({ STORAGE: 'fs', PUBLIC_TREE: 'true', STORE_GROUP: GROUP }, dataDir);
    try {
      assert.equal((await stat(entryOf(on, image))).ino, (await stat(originalFile(on, image.sha256))).ino);
      assert.ok(await gone(path.join(dataDir, 'public', 'i', 'before-tree-private.jpg')));
    } finally {
      await on.close();
    }
    // Off again: nothing keeps the tree in step any more, so it is removed.
    const offAgain = await startApp({ STORAGE: 'fs' }, dataDir);
    await offAgain.close();
    assert.ok(await gone(path.join(dataDir, 'public')));
    await rm(dataDir, { recursive: true, force: true });
  });

  it('builds the tree again for the other URL shape when IMAGE_URLS changes', async () => {
    const dataDir = await makeDataDir();
    const keyed = await startApp({ STORAGE: 'fs', PUBLIC_TREE: 'true' }, dataDir);
    let image: ImageView;
    try {
      image = await upload(keyed, 'shape.jpg', bytes);
      assert.equal((await stat(entryOf(keyed, image))).mode & 0o777, 0o600, 'without STORE_GROUP the tree is imgd\'s alone');
    } finally {
      await keyed.close();
    }
    const named = await startApp({ STORAGE: 'fs', PUBLIC_TREE: 'true', IMAGE_URLS: 'name' }, dataDir);
    try {
      assert.equal((await stat(path.join(dataDir, 'public', 'i', image.filename))).ino, (await stat(originalFile(named, image.sha256))).ino);
      assert.ok(await gone(entryOf(named, image)), 'the keyed entry is gone');
    } finally {
      await named.close();
    }
    await rm(dataDir, { recursive: true, force: true });
  });

  it('refuses to start with the S3 store, in one line naming the setting', async () => {
    await assert.rejects(startApp({ STORAGE: 's3', S3_BUCKET: 'some-bucket', PUBLIC_TREE: 'true' }), /invalid setting PUBLIC_TREE: needs STORAGE=fs/);
    const dataDir = await makeDataDir();
    const services = await servicesFor(dataDir);
    const run = await runCli(['serve'], { S3_BUCKET: 'some-bucket', ...services, DATA_DIR: dataDir, PORT: '0', STORAGE: 's3', PUBLIC_TREE: 'true' });
    assertOneLineFailure(run, 2, /PUBLIC_TREE: needs STORAGE=fs/);
    await rm(dataDir, { recursive: true, force: true });
  });
});

/** imgd's count of GETs of originals (its own routes; nginx's answers from the tree are not among them). */
async function originalGets(t: TestApp): Promise<number> {
  const text = await (await fetch(`${t.url}/metrics`, { headers: t.auth })).text();
  let total = 0;
  for (const line of text.split('\n')) if (line.startsWith('imgd_http_requests_total{') && line.includes('route="/i/:key/:filename"') && line.includes('method="GET"')) total += Number(line.split(' ').at(-1));
  return total;
}

describe('nginx serving the public tree with deploy/nginx/imgd-public.conf', { skip: nginxMissing() }, () => {
  let t: TestApp;
  let nginx: Nginx | undefined;
  let bytes: Buffer;

  before(async () => {
    t = await startApp({ STORAGE: 'fs', PUBLIC_TREE: 'true', STORE_GROUP: GROUP, SENDFILE: 'x-accel' });
    const publicConf = await shippedSnippet('imgd-public.conf', 'root /var/lib/imgd/public;', `root ${path.join(t.dataDir, 'public')};`);
    const offload = await shippedSnippet('imgd-offload.conf', 'alias /var/lib/imgd/blobs/;', `alias ${path.join(t.dataDir, 'blobs')}/;`);
    nginx = await startNginx(t.url, path.join(t.dataDir, 'nginx'), [publicConf, offload]);
    bytes = await readFile(JPEG);
  });
  after(async () => {
    await nginx?.stop();
    await t?.close();
  });

  const viaNginx = (url: string, query = ''): string => `${nginx!.url}${new URL(url).pathname}${query}`;

  it('sends a public original without asking imgd, with imgd\'s Cache-Control and security headers', async () => {
    const image = await upload(t, 'from-the-tree.jpg', bytes);
    const before = await originalGets(t);
    for (let i = 0; i < 3; i += 1) {
      const res = await fetch(viaNginx(image.url));
      assert.equal(res.status, 200);
      assert.deepEqual(Buffer.from(await res.arrayBuffer()), bytes);
      assert.equal(res.headers.get('content-type'), 'image/jpeg');
      assert.equal(res.headers.get('cache-control'), 'public, max-age=3600');
      assert.equal(res.headers.get('content-disposition'), 'inline; filename="from-the-tree.jpg"');
      assert.match(res.headers.get('content-security-policy') ?? '', /sandbox/);
      assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
      assert.equal(res.headers.get('cross-origin-resource-policy'), 'cross-origin');
      // nginx's own validator (file time and size), not imgd's "<sha256>": the README says so.
      assert.match(res.headers.get('etag') ?? '', /^"[0-9a-f]+-[0-9a-f]+"$/);
    }
    const range = await fetch(viaNginx(image.url), { headers: { range: 'bytes=5-14' } });
    assert.equal(range.status, 206);
    assert.deepEqual(Buffer.from(await range.arrayBuffer()), bytes.subarray(5, 15));
    assert.equal(await originalGets(t), before, 'imgd saw none of these GETs');
    // A query string (a share link's) goes to imgd.
    const queried = await fetch(viaNginx(image.url, '?expires=1&sig=x'));
    assert.equal(queried.status, 200);
    await queried.arrayBuffer();
    assert.equal(await originalGets(t), before + 1);
  });

  it('sends a private original only through imgd: refused anonymously, offloaded for its owner', async () => {
    const hidden = await upload(t, 'private-behind-nginx.jpg', await other(), 'private');
    await expectProblem(await fetch(viaNginx(hidden.url)), 404, 'not_found');
    const owner = await fetch(viaNginx(hidden.url), { headers: t.auth });
    assert.equal(owner.status, 200);
    assert.equal(owner.headers.get('cache-control'), 'private, no-cache');
    assert.equal(owner.headers.get('etag'), `"${hidden.sha256}"`);
    assert.equal((await owner.arrayBuffer()).byteLength, (await stat(originalFile(t, hidden.sha256))).size);
  });

  it('stops serving at once what is made private, trashed or deleted, and serves again what is restored', async () => {
    const image = await upload(t, 'comes-and-goes.jpg', await other());
    const served = async (): Promise<number> => {
      const res = await fetch(viaNginx(image.url));
      await res.arrayBuffer();
      return res.status;
    };
    assert.equal(await served(), 200);

    assert.equal((await api(t, `/images/${image.id}`, 'PATCH', { visibility: 'private' })).status, 200);
    await expectProblem(await fetch(viaNginx(image.url)), 404, 'not_found');
    assert.equal((await api(t, `/images/${image.id}`, 'PATCH', { visibility: 'public' })).status, 200);
    assert.equal(await served(), 200);

    assert.equal((await api(t, `/images/${image.id}`, 'DELETE')).status, 204);
    await expectProblem(await fetch(viaNginx(image.url)), 404, 'not_found');
    assert.equal((await api(t, `/trash/${image.id}/restore`, 'POST')).status, 200);
    const before = await originalGets(t);
    assert.equal(await served(), 200);
    assert.equal(await originalGets(t), before, 'restored, it is served from the tree again');

    assert.equal((await api(t, `/images/${image.id}?permanent=true`, 'DELETE')).status, 204);
    await expectProblem(await fetch(viaNginx(image.url)), 404, 'not_found');
  });

  it('keeps sending public originals with imgd stopped', async () => {
    const image = await upload(t, 'imgd-stopped.jpg', bytes);
    const hidden = await upload(t, 'imgd-stopped-private.jpg', await other(), 'private');
    await t.app.close();
    const res = await fetch(viaNginx(image.url));
    assert.equal(res.status, 200);
    assert.deepEqual(Buffer.from(await res.arrayBuffer()), bytes);
    const refused = await fetch(viaNginx(hidden.url));
    assert.equal(refused.status, 502, 'a private image needs imgd');
    await refused.arrayBuffer();
  });
});
