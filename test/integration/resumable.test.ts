// Resumable uploads over tus 1.0.0: tus-js-client (a client nobody here wrote) sends a real photo in 64 KB chunks
// across a restart and across instances; the protocol's refusals, termination, expiry and gc, in both profiles.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import sharp from 'sharp';
import { Upload } from 'tus-js-client';
import { RESUMABLE_PREFIX } from '../../src/core/storage/blob-keys.js';
import { fixture, makeDataDir, servicesFor, startApp, TOKEN, type TestApp } from '../helpers/app.js';
import { runCli, spawnCli } from '../helpers/processes.js';
import { SCALE } from '../helpers/scale.js';
import { startTcpProxy } from '../helpers/tcp-proxy.js';
import { waitFor } from '../helpers/wait.js';

const PHOTO = fixture('jpg/Reconyx_HC500_Hyperfire.jpg');
const CHUNK = 64 * 1024;
/** Stored byte for byte, so the stored SHA-256 is the file's. */
const AS_SENT = { STRIP_GPS: 'false', STRIP_EXTRAS: 'false' };
const TUS = { 'tus-resumable': '1.0.0' };
const auth = { authorization: `Bearer ${TOKEN}` };

const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');
const b64 = (text: string): string => Buffer.from(text).toString('base64');

interface Finished {
  readonly url: string;
  readonly imageId: string | undefined;
  readonly imageUrl: string | undefined;
}

/** Sends bytes with tus-js-client; `stopAfter` aborts once that many bytes are accepted (resolves with the upload URL then). */
function tusUpload(endpoint: string, bytes: Buffer, options: { metadata?: Record<string, string>; uploadUrl?: string; stopAfter?: number; headers?: Record<string, string> } = {}): Promise<Finished> {
  return new Promise((resolve, reject) => {
    const upload: Upload = new Upload(bytes, {
      endpoint,
      uploadUrl: options.uploadUrl ?? null,
      chunkSize: CHUNK,
      retryDelays: null,
      headers: options.headers ?? auth,
      metadata: options.metadata ?? { filename: 'camera trap.jpg', filetype: 'image/jpeg' },
      onChunkComplete: (_size, accepted) => {
        if (options.stopAfter !== undefined && accepted >= options.stopAfter) {
          void upload.abort().then(() => resolve({ url: upload.url!, imageId: undefined, imageUrl: undefined }));
        }
      },
      onSuccess: ({ lastResponse }) =>
        resolve({ url: upload.url!, imageId: lastResponse.getHeader('x-image-id'), imageUrl: lastResponse.getHeader('x-image-url') }),
      onError: reject,
    });
    upload.start();
  });
}

async function tusRequest(url: string, method: string, headers: Record<string, string> = {}, body?: Uint8Array): Promise<Response> {
  return fetch(url, { method, headers: { ...TUS, ...auth, ...headers }, body });
}

async function create(t: TestApp, length: number, metadata = `filename ${b64('x.jpg')}`, headers: Record<string, string> = {}): Promise<string> {
  const res = await tusRequest(`${t.url}/api/v1/uploads`, 'POST', { 'upload-length': String(length), 'upload-metadata': metadata, ...headers });
  assert.equal(res.status, 201, await res.text());
  return res.headers.get('location')!;
}

const patch = (url: string, offset: number, body: Uint8Array, headers: Record<string, string> = {}): Promise<Response> =>
  tusRequest(url, 'PATCH', { 'upload-offset': String(offset), 'content-type': 'application/offset+octet-stream', ...headers }, body);

async function problem(res: Response, status: number, code: string): Promise<void> {
  assert.equal(res.status, status);
  assert.equal(res.headers.get('content-type'), 'application/problem+json; charset=utf-8');
  // A HEAD answer has no body to say its code in.
  if (res.headers.get('content-length') !== '0' && (res.body !== null)) {
    const text = await res.text();
    if (text !== '') assert.equal((JSON.parse(text) as { code: string }).code, code);
  }
}

/** The staged parts of one upload. */
async function partsOf(t: TestApp, url: string): Promise<string[]> {
  const id = url.split('/').pop()!;
  return (await t.blobKeys(RESUMABLE_PREFIX)).filter((key) => key.startsWith(`${RESUMABLE_PREFIX}${id}.`));
}

describe('resumable uploads (tus)', () => {
  let t: TestApp;
  let photo: Buffer;
  before(async () => {
    t = await startApp(AS_SENT);
    photo = await readFile(PHOTO);
  });
  after(() => t.close());

  it('advertises tus 1.0.0, its extensions, MAX_FILE_SIZE and sha256 on OPTIONS', async () => {
    const res = await fetch(`${t.url}/api/v1/uploads`, { method: 'OPTIONS' });
    assert.equal(res.status, 204);
    assert.equal(res.headers.get('tus-version'), '1.0.0');
    assert.deepEqual(res.headers.get('tus-extension')!.split(',').sort(), ['checksum', 'creation', 'creation-with-upload', 'expiration', 'termination']);
    assert.equal(res.headers.get('tus-max-size'), String(20 * 1024 * 1024));
    assert.equal(res.headers.get('tus-checksum-algorithm'), 'sha256');
  });

  it('finishes a photo sent in 64 KB chunks after an interruption and a restart, stored with its SHA-256', async () => {
    const endpoint = `${t.url}/api/v1/uploads`;
    const partial = await tusUpload(endpoint, photo, { stopAfter: 3 * CHUNK });
    const head = await tusRequest(partial.url, 'HEAD');
    assert.equal(head.status, 200);
    const offset = Number(head.headers.get('upload-offset'));
    assert.ok(offset >= 3 * CHUNK && offset < photo.length, `offset ${offset} after the interruption`);
    assert.ok(head.headers.get('upload-expires'), 'an unfinished upload says when it expires');

    await t.app.close();
    t = await startApp(AS_SENT, t.dataDir);
    const resumedUrl = partial.url.replace(/^http:\/\/[^/]+/, t.url);
    const done = await tusUpload(`${t.url}/api/v1/uploads`, photo, { uploadUrl: resumedUrl });
    assert.ok(done.imageId, 'the last PATCH names the image');
    const image = (await (await fetch(`${t.url}/api/v1/images/${done.imageId}`, { headers: auth })).json()) as { sha256: string; bytes: number; original_name: string; url: string };
    assert.equal(image.sha256, sha256(photo));
    assert.equal(image.bytes, photo.length);
    assert.equal(image.original_name, 'camera trap.jpg');
    assert.equal(done.imageUrl, image.url);
    assert.deepEqual(Buffer.from(await (await fetch(image.url)).arrayBuffer()), photo);
    assert.deepEqual(await partsOf(t, resumedUrl), [], 'the staged parts are gone');

    // An answer lost on the way: HEAD still says where the upload went.
    const again = await tusRequest(resumedUrl, 'HEAD');
    assert.equal(again.headers.get('upload-offset'), String(photo.length));
    assert.equal(again.headers.get('x-image-id'), done.imageId);
  });

  it('refuses requests without a credential (401), others\' uploads (404) and lengths over the limit (413)', async () => {
    await problem(await fetch(`${t.url}/api/v1/uploads`, { method: 'POST', headers: { ...TUS, 'upload-length': '10' } }), 401, 'unauthorized');
    await problem(await tusRequest(`${t.url}/api/v1/uploads`, 'POST', { 'upload-length': String(20 * 1024 * 1024 + 1) }), 413, 'file_too_large');
    const url = await create(t, 100);
    await problem(await fetch(url, { method: 'HEAD', headers: TUS }), 401, 'unauthorized');
    const minted = (await (
      await fetch(`${t.url}/api/v1/upload-tokens`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify({ expires_in: 600 }) })
    ).json()) as { token: string };
    const other = { authorization: `Bearer ${minted.token}` };
    assert.equal((await tusRequest(url, 'HEAD', other)).status, 404);
    await problem(await patch(url, 0, Buffer.alloc(10), other), 404, 'not_found');
    await problem(await tusRequest(url, 'DELETE', other), 404, 'not_found');
    await problem(await tusRequest(`${t.url}/api/v1/uploads`, 'POST', { 'upload-length': '10', 'upload-metadata': `visibility ${b64('secret')}` }), 400, 'validation_failed');
    await problem(await patch(url, 5, Buffer.alloc(10)), 409, 'offset_mismatch');
    await problem(await fetch(url, { method: 'HEAD', headers: auth }), 412, 'precondition_failed');
  });

  it('takes a whole file with its creation (creation-with-upload) and names the image', async () => {
    const small = await readFile(fixture('jpg/Canon_40D.jpg'));
    const res = await tusRequest(`${t.url}/api/v1/uploads`, 'POST', {
      'upload-length': String(small.length),
      'upload-metadata': `filename ${b64('canon.jpg')},description ${b64('in one go')}`,
      'content-type': 'application/offset+octet-stream',
    }, small);
    assert.equal(res.status, 201, await res.text());
    assert.equal(res.headers.get('upload-offset'), String(small.length));
    const image = (await (await fetch(`${t.url}/api/v1/images/${res.headers.get('x-image-id')}`, { headers: auth })).json()) as { description: string; original_name: string };
    assert.equal(image.description, 'in one go');
    assert.equal(image.original_name, 'canon.jpg');
  });

  it('keeps nothing of a PATCH whose sha256 does not match (460), and takes one that does', async () => {
    const url = await create(t, photo.length);
    const chunk = photo.subarray(0, CHUNK);
    const wrong = createHash('sha256').update('something else').digest('base64');
    await problem(await patch(url, 0, chunk, { 'upload-checksum': `sha256 ${wrong}` }), 460, 'checksum_mismatch');
    assert.equal((await tusRequest(url, 'HEAD')).headers.get('upload-offset'), '0');
    await problem(await patch(url, 0, chunk, { 'upload-checksum': `md5 ${wrong}` }), 400, 'bad_request');
    const right = createHash('sha256').update(chunk).digest('base64');
    const ok = await patch(url, 0, chunk, { 'upload-checksum': `sha256 ${right}` });
    assert.equal(ok.status, 204);
    assert.equal(ok.headers.get('upload-offset'), String(CHUNK));
    assert.equal((await tusRequest(url, 'DELETE')).status, 204);
  });

  it('terminates an upload: its bytes go and its URL answers 404', async () => {
    const url = await create(t, photo.length);
    assert.equal((await patch(url, 0, photo.subarray(0, 1000))).status, 204);
    assert.equal((await partsOf(t, url)).length, 1);
    assert.equal((await tusRequest(url, 'DELETE')).status, 204);
    assert.deepEqual(await partsOf(t, url), []);
    await problem(await tusRequest(url, 'HEAD'), 404, 'not_found');
  });

  it('refuses a file that is not an image at its last byte (415) and keeps nothing of it', async () => {
    const before = await t.stored();
    const text = Buffer.from('just some text, not a picture, sent in two pieces');
    const url = await create(t, text.length, `filename ${b64('notes.png')}`);
    assert.equal((await patch(url, 0, text.subarray(0, 10))).status, 204);
    await problem(await patch(url, 10, text.subarray(10)), 415, 'unsupported_format');
    assert.deepEqual(await partsOf(t, url), []);
    await problem(await tusRequest(url, 'HEAD'), 404, 'not_found');
    assert.deepEqual(await t.stored(), before);
  });

  it('expires unfinished uploads (410) and gc removes them with their bytes', async () => {
    const url = await create(t, photo.length);
    assert.equal((await patch(url, 0, photo.subarray(0, CHUNK))).status, 204);
    const id = url.split('/').pop()!;
    const past = new Date(Date.now() - 2 * 86_400_000).toISOString();
    await t.app.db.updateTable('resumable_uploads').set({ created_at: past, expires_at: past }).where('id', '=', id).execute();
    await problem(await tusRequest(url, 'HEAD'), 410, 'upload_expired');
    await problem(await patch(url, CHUNK, photo.subarray(CHUNK, 2 * CHUNK)), 410, 'upload_expired');
    const report = await t.app.gc();
    assert.equal(report.uploads, 1);
    assert.deepEqual(await partsOf(t, url), []);
    await problem(await tusRequest(url, 'HEAD'), 404, 'not_found');
  });

  it('lets a single-use upload token make one resumable upload, whatever its number of chunks', async () => {
    const minted = (await (
      await fetch(`${t.url}/api/v1/upload-tokens`, {
        method: 'POST',
        headers: { ...auth, 'content-type': 'application/json' },
        body: JSON.stringify({ expires_in: 600, single_use: true, max_bytes: photo.length }),
      })
    ).json()) as { token: string };
    const headers = { authorization: `Bearer ${minted.token}` };
    await problem(await tusRequest(`${t.url}/api/v1/uploads`, 'POST', { ...headers, 'upload-length': String(photo.length + 1) }), 413, 'file_too_large');
    const done = await tusUpload(`${t.url}/api/v1/uploads`, photo, { headers });
    assert.ok(done.imageId);
    await problem(await tusRequest(`${t.url}/api/v1/uploads`, 'POST', { ...headers, 'upload-length': '10' }), 401, 'unauthorized');
  });
});

describe('resumable uploads across instances', { skip: SCALE ? false : 'scale profile only: instances share PostgreSQL and S3' }, () => {
  it('starts an upload on one instance and finishes it on another', async () => {
    const photo = await readFile(PHOTO);
    const shared = await servicesFor(await makeDataDir());
    const [a, b] = [await startApp({ ...AS_SENT, ...shared }), await startApp({ ...AS_SENT, ...shared })];
    try {
      const partial = await tusUpload(`${a.url}/api/v1/uploads`, photo, { stopAfter: 2 * CHUNK });
      const onB = partial.url.replace(a.url, b.url);
      const done = await tusUpload(`${b.url}/api/v1/uploads`, photo, { uploadUrl: onB });
      const image = (await (await fetch(`${a.url}/api/v1/images/${done.imageId}`, { headers: auth })).json()) as { sha256: string };
      assert.equal(image.sha256, sha256(photo));
      assert.deepEqual(await partsOf(a, onB), []);
    } finally {
      await a.close();
      await b.close();
    }
  });
});

describe('imgd upload', () => {
  it('sends files over tus, and a run interrupted mid-file resumes where it stopped', async () => {
    const t = await startApp(AS_SENT);
    const proxy = await startTcpProxy(t.url);
    try {
      const [width, height] = [1200, 900];
      const noise = await sharp(randomBytes(width * height * 3), { raw: { width, height, channels: 3 } }).jpeg({ quality: 95 }).toBuffer();
      const file = path.join(t.dataDir, 'noise.jpg');
      await writeFile(file, noise);
      const args = ['upload', file, '--server', proxy.via(t.url), '--token', TOKEN, '--chunk-size', String(CHUNK), '--state', path.join(t.dataDir, 'cli-state.json'), '--key', 'cli/1'];
      const first = spawnCli(args, {});
      const received = async (): Promise<number | undefined> => {
        const row = await t.app.db.selectFrom('resumable_uploads').select('received').executeTakeFirst();
        return row && Number(row.received) > 0 ? Number(row.received) : undefined;
      };
      await waitFor('the first chunks to arrive', received, 60_000, 5);
      proxy.pause();
      first.child.kill('SIGKILL');
      await first.exited;
      proxy.resume();
      const got = (await received())!;
      assert.ok(got < noise.length, `the run was cut mid-file (${got} of ${noise.length} bytes)`);

      const second = await runCli(args, {});
      assert.equal(second.code, 0, second.stderr);
      assert.match(second.stdout, /noise\.jpg: http:\/\/\S+\/i\/[\w-]{16}\/noise\.jpg \(id \S+, resumed\)/);
      const rows = await t.app.db.selectFrom('resumable_uploads').select(['state', 'image_id']).execute();
      assert.equal(rows.length, 1, 'the second run continued the first upload');
      const image = (await (await fetch(`${t.url}/api/v1/images/${rows[0]!.image_id}`, { headers: auth })).json()) as { sha256: string; key: string };
      assert.equal(image.sha256, sha256(noise));
      assert.equal(image.key, 'cli/1');

      const notes = path.join(t.dataDir, 'notes.jpg');
      await writeFile(notes, 'these are words, not pixels\n'.repeat(20));
      const refused = await runCli(['upload', PHOTO, notes, '--server', t.url, '--token', TOKEN, '--state', path.join(t.dataDir, 'cli-state.json')], {});
      assert.equal(refused.code, 1);
      assert.match(refused.stderr, /notes\.jpg: The file is not an image in a format this server accepts\. \(unsupported_format\)/);
      assert.match(refused.stdout, /Reconyx_HC500_Hyperfire\.jpg: http/);
    } finally {
      await proxy.close();
      await t.close();
    }
  });
});
