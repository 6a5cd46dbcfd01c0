// SENDFILE=x-accel: imgd decides access and headers and hands full GETs to nginx with X-Accel-Redirect; with nginx
// installed, the shipped deploy/nginx/imgd-offload.conf serves them (under CI=true a missing nginx is a failure).
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { expectProblem } from '../helpers/accounts.js';
import { fixture, startApp, type TestApp } from '../helpers/app.js';
import { freePort } from '../helpers/processes.js';
import { waitFor } from '../helpers/wait.js';
import type { Image } from '../helpers/images.js';

const JPEG = fixture('jpg/xmp/BlueSquare.jpg');
const NGINX = '/usr/sbin/nginx';
const PREFIX = '/_imgd_blobs/';

const originalKey = (sha: string): string => `originals/${sha.slice(0, 2)}/${sha.slice(2, 4)}/${sha}`;

/** Offload needs the disk store: the scale profile's S3 is replaced by it here (its database and queue stay). */
const startOffloading = (): Promise<TestApp> => startApp({ STORAGE: 'fs', SENDFILE: 'x-accel' });

describe('offload to nginx (SENDFILE=x-accel)', () => {
  let t: TestApp;
  let bytes: Buffer;
  let image: Image;

  before(async () => {
    t = await startOffloading();
    bytes = await readFile(JPEG);
    const res = await t.upload([['offloaded.jpg', bytes]]);
    assert.equal(res.status, 201, await res.clone().text());
    image = (await res.json()) as Image;
  });
  after(() => t.close());

  it('answers a full GET with every header, no body and X-Accel-Redirect to the blob, the first time and on repeats', async () => {
    for (let i = 0; i < 3; i += 1) {
      const res = await fetch(image.url);
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('x-accel-redirect'), `${PREFIX}${originalKey(image.sha256)}`);
      assert.equal(res.headers.get('etag'), `"${image.sha256}"`);
      assert.equal(res.headers.get('content-type'), 'image/jpeg');
      assert.equal(res.headers.get('cache-control'), 'public, max-age=3600');
      assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
      assert.match(res.headers.get('content-security-policy') ?? '', /sandbox/);
      assert.equal(res.headers.get('cross-origin-resource-policy'), 'cross-origin');
      assert.equal(res.headers.get('content-length'), '0');
      assert.equal((await res.arrayBuffer()).byteLength, 0);
    }
  });

  it('hands a variant over under its own blob key, with Vary: Accept', async () => {
    const res = await fetch(image.variants.small!, { headers: { accept: 'image/webp' } });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'image/webp');
    assert.equal(res.headers.get('vary'), 'Accept');
    assert.match(res.headers.get('x-accel-redirect') ?? '', new RegExp(`^${PREFIX}variants/${image.sha256.slice(0, 2)}/${image.sha256.slice(2, 4)}/${image.sha256}/[^/]+\\.webp$`));
    await res.arrayBuffer();
    const stored = await t.blobKeys('variants/');
    assert.ok(stored.includes(res.headers.get('x-accel-redirect')!.slice(PREFIX.length)), 'the key names a stored variant');
  });

  it('answers HEAD, 304 and ranges itself, without handing anything over', async () => {
    const head = await fetch(image.url, { method: 'HEAD' });
    assert.equal(head.status, 200);
    assert.equal(head.headers.get('content-length'), String(bytes.length));
    assert.equal(head.headers.get('x-accel-redirect'), null);

    const notModified = await fetch(image.url, { headers: { 'if-none-match': `"${image.sha256}"` } });
    assert.equal(notModified.status, 304);
    assert.equal(notModified.headers.get('x-accel-redirect'), null);

    const range = await fetch(image.url, { headers: { range: 'bytes=0-9' } });
    assert.equal(range.status, 206);
    assert.equal(range.headers.get('x-accel-redirect'), null);
    assert.deepEqual(Buffer.from(await range.arrayBuffer()), bytes.subarray(0, 10));
  });

  it('hands over nothing of a private image to an anonymous request', async () => {
    const res = await t.upload([['private.jpg', bytes]], { visibility: 'private' });
    const hidden = (await res.json()) as Image;
    const anonymous = await fetch(hidden.url);
    assert.equal(anonymous.headers.get('x-accel-redirect'), null);
    await expectProblem(anonymous, 404, 'not_found');
    const owner = await fetch(hidden.url, { headers: t.auth });
    assert.equal(owner.status, 200);
    assert.equal(owner.headers.get('cache-control'), 'private, no-cache');
    assert.equal(owner.headers.get('x-accel-redirect'), `${PREFIX}${originalKey(hidden.sha256)}`);
  });

  it('refuses to start with the S3 store, naming the setting', async () => {
    await assert.rejects(startApp({ STORAGE: 's3', S3_BUCKET: 'some-bucket', SENDFILE: 'x-accel' }), /SENDFILE: x-accel needs STORAGE=fs/);
  });
});

/** Whether nginx is here to test with; under CI=true its absence fails the run (add it to .ci/run's apt-get line). */
function nginxMissing(): string | false {
  if (existsSync(NGINX)) return false;
  if (process.env.CI === 'true') throw new Error(`${NGINX} is missing: the offload tests need nginx (CI=true)`);
  return `skipped: ${NGINX} is not installed`;
}

interface Nginx {
  readonly url: string;
  stop(): Promise<void>;
}

/** nginx in front of imgd with the shipped offload location, its alias pointed at the app's store. */
async function startNginx(t: TestApp, workDir: string): Promise<Nginx> {
  await mkdir(workDir, { recursive: true });
  const shipped = await readFile(path.resolve(import.meta.dirname, '../../deploy/nginx/imgd-offload.conf'), 'utf8');
  assert.match(shipped, /alias \/var\/lib\/imgd\/blobs\/;/);
  await writeFile(path.join(workDir, 'offload.conf'), shipped.replace('alias /var/lib/imgd/blobs/;', `alias ${path.join(t.dataDir, 'blobs')}/;`));
  const port = await freePort();
  const upstream = new URL(t.url).host;
  const conf = `
${process.getuid?.() === 0 ? 'user root;' : ''}
worker_processes 1;
daemon off;
pid ${workDir}/nginx.pid;
error_log ${workDir}/error.log warn;
events { worker_connections 256; }
http {
  access_log off;
  client_body_temp_path ${workDir}/body;
  proxy_temp_path ${workDir}/proxy;
  fastcgi_temp_path ${workDir}/fastcgi;
  uwsgi_temp_path ${workDir}/uwsgi;
  scgi_temp_path ${workDir}/scgi;
  server {
    listen 127.0.0.1:${port};
    proxy_http_version 1.1;
    proxy_set_header Connection "";
    location / { proxy_pass http://${upstream}; }
    include ${workDir}/offload.conf;
  }
}`;
  await writeFile(path.join(workDir, 'nginx.conf'), conf);
  const child: ChildProcess = spawn(NGINX, ['-p', workDir, '-c', path.join(workDir, 'nginx.conf')], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const url = `http://127.0.0.1:${port}`;
  const stop = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGQUIT');
    await once(child, 'exit');
  };
  try {
    // Any answer means nginx listens (imgd's /healthz through it).
    await waitFor('nginx to answer', async () => {
      if (child.exitCode !== null) throw new Error(`nginx exited: ${stderr}`);
      return (await fetch(`${url}/healthz`).catch(() => undefined))?.ok ? true : undefined;
    }, 10_000);
  } catch (err) {
    await stop();
    throw err;
  }
  return { url, stop };
}

describe('imgd behind nginx with deploy/nginx/imgd-offload.conf', { skip: nginxMissing() }, () => {
  let t: TestApp;
  let nginx: Nginx | undefined;
  let bytes: Buffer;
  let image: Image;

  before(async () => {
    t = await startOffloading();
    nginx = await startNginx(t, path.join(t.dataDir, 'nginx'));
    bytes = await readFile(JPEG);
    const res = await t.upload([['behind-nginx.jpg', bytes]]);
    assert.equal(res.status, 201, await res.clone().text());
    image = (await res.json()) as Image;
  });
  after(async () => {
    await nginx?.stop();
    await t?.close();
    if (t) await rm(path.join(t.dataDir, 'nginx'), { recursive: true, force: true });
  });

  const viaNginx = (url: string): string => `${nginx!.url}${new URL(url).pathname}${new URL(url).search}`;

  it('sends the original bytes with imgd\'s headers, not nginx\'s own validators', async () => {
    for (let i = 0; i < 3; i += 1) {
      const res = await fetch(viaNginx(image.url));
      assert.equal(res.status, 200);
      assert.deepEqual(Buffer.from(await res.arrayBuffer()), bytes);
      assert.equal(res.headers.get('etag'), `"${image.sha256}"`);
      assert.equal(res.headers.get('content-type'), 'image/jpeg');
      assert.equal(res.headers.get('content-length'), String(bytes.length));
      assert.equal(res.headers.get('cache-control'), 'public, max-age=3600');
      assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
      assert.match(res.headers.get('content-security-policy') ?? '', /sandbox/);
      assert.equal(res.headers.get('content-disposition'), 'inline; filename="behind-nginx.jpg"');
      assert.ok(res.headers.get('x-request-id'));
      assert.equal(res.headers.get('x-accel-redirect'), null);
      const lastModified = res.headers.get('last-modified');
      assert.ok(lastModified && Date.parse(lastModified) > 0);
    }
  });

  it('sends a variant with its Vary, and answers 304 and ranges through imgd', async () => {
    const res = await fetch(viaNginx(image.variants.small!), { headers: { accept: 'image/avif;q=0,image/webp' } });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'image/webp');
    assert.equal(res.headers.get('vary'), 'Accept');
    const body = Buffer.from(await res.arrayBuffer());
    assert.equal(body.subarray(8, 12).toString('latin1'), 'WEBP');

    const notModified = await fetch(viaNginx(image.url), { headers: { 'if-none-match': `"${image.sha256}"` } });
    assert.equal(notModified.status, 304);
    const range = await fetch(viaNginx(image.url), { headers: { range: 'bytes=5-14' } });
    assert.equal(range.status, 206);
    assert.deepEqual(Buffer.from(await range.arrayBuffer()), bytes.subarray(5, 15));
  });

  it('answers 404 for the internal location asked for directly, and for a deleted image', async () => {
    const direct = await fetch(`${nginx!.url}${PREFIX}${originalKey(image.sha256)}`);
    assert.equal(direct.status, 404);
    await direct.arrayBuffer();
    const res = await t.upload([['deleted-behind-nginx.jpg', bytes]]);
    const doomed = (await res.json()) as Image;
    assert.equal((await fetch(viaNginx(doomed.url))).status, 200);
    assert.equal((await fetch(`${t.url}/api/v1/images/${doomed.id}`, { method: 'DELETE', headers: t.auth })).status, 204);
    await expectProblem(await fetch(viaNginx(doomed.url)), 404, 'not_found');
  });
});
