import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import { mkdir, mkdtemp, readFile, readdir, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { setTimeout as delay } from 'node:timers/promises';
import { crc32 } from 'node:zlib';
import { after, before, describe, it } from 'node:test';
import sharp from 'sharp';
import { fixture, FIXTURES, startApp, type TestApp } from '../helpers/app.js';

const PROBLEM_TYPE = 'application/problem+json; charset=utf-8';
const BIG_JPEG = fixture('jpg/gps/DSCN0010.jpg'); // 161 KB
const SMALL_JPEG = fixture('jpg/Canon_40D.jpg');

interface Problem {
  status: number;
  code: string;
  detail: string;
  [extra: string]: unknown;
}

/** Checks the status, the problem+json content type and the code; returns the body. */
async function expectProblem(res: Response, status: number, code: string): Promise<Problem> {
  const text = await res.text();
  assert.equal(res.status, status, text);
  assert.equal(res.headers.get('content-type'), PROBLEM_TYPE);
  const body = JSON.parse(text) as Problem;
  assert.equal(body.code, code, text);
  assert.equal(body.status, status);
  return body;
}

async function failedAttempts(t: TestApp): Promise<number> {
  const res = await fetch(`${t.url}/api/v1/stats`, { headers: t.auth });
  assert.equal(res.status, 200);
  return ((await res.json()) as { failed: number }).failed;
}

/** Sends a request that must be refused: the problem is right, nothing is kept, one failed attempt is recorded. */
async function expectRefusal(t: TestApp, status: number, code: string, send: () => Promise<Response>): Promise<Problem> {
  const storedBefore = await t.stored();
  const failedBefore = await failedAttempts(t);
  const problem = await expectProblem(await send(), status, code);
  assert.deepEqual(await t.stored(), storedBefore, 'nothing is stored');
  assert.equal(await failedAttempts(t), failedBefore + 1, 'the refusal is recorded as a failed attempt');
  return problem;
}

interface Part {
  readonly name: string;
  readonly filename?: string;
  readonly data: string | Uint8Array;
}

/** A multipart body built by hand, so that names and file names go on the wire exactly as given. */
function multipart(parts: readonly Part[], boundary = `----imgd-test-${randomBytes(8).toString('hex')}`): { body: Buffer; contentType: string } {
  const chunks: Buffer[] = [];
  for (const part of parts) {
    const disposition = `form-data; name="${part.name}"${part.filename === undefined ? '' : `; filename="${part.filename}"`}`;
    const type = part.filename === undefined ? '' : 'Content-Type: application/octet-stream\r\n';
    chunks.push(Buffer.from(`--${boundary}\r\nContent-Disposition: ${disposition}\r\n${type}\r\n`));
    chunks.push(Buffer.from(part.data));
    chunks.push(Buffer.from('\r\n'));
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`));
  return { body: Buffer.concat(chunks), contentType: `multipart/form-data; boundary=${boundary}` };
}

function postMultipart(t: TestApp, parts: readonly Part[]): Promise<Response> {
  const { body, contentType } = multipart(parts);
  return fetch(`${t.url}/api/v1/images`, { method: 'POST', body, headers: { ...t.auth, 'content-type': contentType } });
}

/** A request over node:http, so that headers go exactly as given; the answer comes back as a fetch Response. */
function openRaw(t: TestApp, method: string, pathname: string, headers: http.OutgoingHttpHeaders): { req: http.ClientRequest; answer: Promise<Response> } {
  const req = http.request(`${t.url}${pathname}`, { method, headers, signal: AbortSignal.timeout(15_000) });
  const answer = new Promise<Response>((resolve, reject) => {
    req.on('error', reject);
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('error', reject);
      res.on('end', () => {
        const out = new Headers();
        for (const [name, value] of Object.entries(res.headers)) {
          if (value !== undefined) out.set(name, Array.isArray(value) ? value.join(', ') : value);
        }
        resolve(new Response(Buffer.concat(chunks), { status: res.statusCode ?? 0, headers: out }));
      });
    });
  });
  return { req, answer };
}

function sendRaw(t: TestApp, method: string, pathname: string, headers: http.OutgoingHttpHeaders, body: Buffer): Promise<Response> {
  const { req, answer } = openRaw(t, method, pathname, { 'content-length': body.length, ...headers });
  req.end(body);
  return answer;
}

/** Signature and IHDR chunk (with a correct CRC) of a PNG claiming the given size, then IEND. */
function pngHeader(width: number, height: number): Buffer {
  const chunk = (type: string, data: Buffer): Buffer => {
    const length = Buffer.alloc(4);
    length.writeUInt32BE(data.length);
    const typeAndData = Buffer.concat([Buffer.from(type, 'latin1'), data]);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(typeAndData));
    return Buffer.concat([length, typeAndData, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.writeUInt8(8, 8); // bit depth
  ihdr.writeUInt8(2, 9); // colour type: RGB
  const signature = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  return Buffer.concat([signature, chunk('IHDR', ihdr), chunk('IEND', Buffer.alloc(0))]);
}

/** An animated GIF of 16x16 frames, each a different colour. */
async function animatedGif(frames: number): Promise<Buffer> {
  const pngs = await Promise.all(
    Array.from({ length: frames }, (_, i) =>
      sharp({ create: { width: 16, height: 16, channels: 3, background: { r: (i * 50) % 256, g: 80, b: 160 } } }).png().toBuffer(),
    ),
  );
  return sharp(pngs, { join: { animated: true } }).gif().toBuffer();
}

/** Every file below dir, as absolute paths. */
async function walk(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const full = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...(await walk(full)));
    else out.push(full);
  }
  return out;
}

describe('refusing uploads', () => {
  let t: TestApp;
  before(async () => {
    t = await startApp();
  });
  after(() => t.close());

  it('refuses text renamed .png as an unsupported format', async () => {
    await expectRefusal(t, 415, 'unsupported_format', () => t.upload([['notes.png', Buffer.from('hello, this is plain text and not an image at all\n')]]));
  });

  it('refuses JPEG magic bytes followed by garbage as a corrupt image', async () => {
    const bytes = Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10, 0x4a, 0x46, 0x49, 0x46, 0x00]), Buffer.alloc(4096, 'not a picture ')]);
    const problem = await expectRefusal(t, 422, 'corrupt_image', () => t.upload([['photo.jpg', bytes]]));
    // One line a person can read: not libvips' multi-line log with its class names and warnings.
    assert.doesNotMatch(String(problem.detail), /\n|Vips|Warning/, String(problem.detail));
  });

  it('refuses a zero-byte file as empty', async () => {
    await expectRefusal(t, 422, 'empty_file', () => t.upload([['empty.jpg', new Uint8Array(0)]]));
  });

  it('refuses a PNG whose header claims 100000x100000 pixels', async () => {
    const bytes = pngHeader(100_000, 100_000);
    const problem = await expectRefusal(t, 422, 'image_too_large', () => t.upload([['flood.png', bytes]]));
    assert.equal(problem.width, 100_000);
    assert.equal(problem.height, 100_000);
  });

  it('refuses a multipart Content-Type without a boundary', async () => {
    const { body } = multipart([{ name: 'file', filename: 'a.jpg', data: await readFile(SMALL_JPEG) }], 'xyz');
    await expectRefusal(t, 400, 'missing_boundary', () => sendRaw(t, 'POST', '/api/v1/images', { ...t.auth, 'content-type': 'multipart/form-data' }, body));
  });

  it('refuses a form part without a name, however long, as malformed', async () => {
    const boundary = `----imgd-test-${randomBytes(8).toString('hex')}`;
    const body = Buffer.concat([
      Buffer.from(`--${boundary}\r\nContent-Disposition: form-data\r\n\r\n`),
      Buffer.alloc(40_000, 0x41),
      Buffer.from(`\r\n--${boundary}--\r\n`),
    ]);
    await expectRefusal(t, 400, 'malformed_multipart', () =>
      sendRaw(t, 'POST', '/api/v1/images', { ...t.auth, 'content-type': `multipart/form-data; boundary=${boundary}` }, body),
    );
  });

  it('refuses a POST that is not multipart', async () => {
    await expectRefusal(t, 415, 'unsupported_media_type', () =>
      fetch(`${t.url}/api/v1/images`, { method: 'POST', body: JSON.stringify({ file: 'aGVsbG8=' }), headers: { ...t.auth, 'content-type': 'application/json' } }),
    );
  });

  it('refuses an unknown form field and keeps nothing, although the file itself was fine', async () => {
    const problem = await expectRefusal(t, 400, 'unknown_field', () => t.upload([SMALL_JPEG], { colour: 'red' }));
    assert.deepEqual(problem.fields, ['colour']);
  });

  it('refuses a file sent under a field name other than "file"', async () => {
    const bytes = await readFile(SMALL_JPEG);
    const problem = await expectRefusal(t, 400, 'unknown_field', () => postMultipart(t, [{ name: 'image', filename: 'Canon_40D.jpg', data: bytes }]));
    assert.deepEqual(problem.fields, ['image']);
  });

  it('refuses a visibility other than public or private', async () => {
    const problem = await expectRefusal(t, 400, 'validation_failed', () => t.upload([SMALL_JPEG], { visibility: 'secret' }));
    assert.equal(problem.field, 'visibility');
  });

  it('refuses a key with a ".." segment or with spaces', async () => {
    for (const key of ['photos/../secrets', '../up', 'has spaces', 'a/ b']) {
      const problem = await expectRefusal(t, 400, 'validation_failed', () => t.upload([SMALL_JPEG], { key }));
      assert.equal(problem.field, 'key', key);
    }
  });

  it('refuses bad field values in the query of a raw PUT too', async () => {
    const bytes = await readFile(SMALL_JPEG);
    for (const query of ['visibility=secret', 'key=a%2F..%2Fb', 'key=has%20spaces']) {
      await expectRefusal(t, 400, 'validation_failed', () =>
        fetch(`${t.url}/api/v1/images?filename=x.jpg&${query}`, { method: 'PUT', body: bytes, headers: { ...t.auth, 'content-type': 'image/jpeg' } }),
      );
    }
  });

  it('refuses a form without a file part', async () => {
    await expectRefusal(t, 400, 'missing_file', () => t.upload([], { description: 'no picture here' }));
  });

  it('refuses an invalid bearer token with 401 and WWW-Authenticate: Bearer', async () => {
    const storedBefore = await t.stored();
    const failedBefore = await failedAttempts(t);
    const res = await t.upload([SMALL_JPEG], {}, { authorization: 'Bearer not-the-admin-token-0123456789' });
    assert.equal(res.headers.get('www-authenticate'), 'Bearer');
    await expectProblem(res, 401, 'unauthorized');
    assert.deepEqual(await t.stored(), storedBefore);
    // Refused before the request is an upload of anyone's: no attempt row, so anonymous
    // clients cannot write to the database or skew the success rate.
    assert.equal(await failedAttempts(t), failedBefore);
  });

  it('refuses or accepts each broken JPEG among the fixtures, never hangs, and stays up', async () => {
    const invalid = (await readdir(path.join(FIXTURES, 'jpg/invalid'))).sort().map((name) => `jpg/invalid/${name}`);
    const outcomes: Record<string, string> = {};
    for (const name of [...invalid, 'jpg/corrupted.jpg']) {
      const storedBefore = await t.stored();
      const form = new FormData();
      form.append('file', new Blob([await readFile(fixture(name))]), path.basename(name));
      const res = await fetch(`${t.url}/api/v1/images`, { method: 'POST', body: form, headers: t.auth, signal: AbortSignal.timeout(15_000) });
      if (res.status === 201) {
        await res.body?.cancel();
        outcomes[name] = 'accepted';
        const after = await t.stored();
        assert.equal(after.images, storedBefore.images + 1, name);
        assert.equal(after.temp, 0, name);
      } else {
        assert.ok(res.status >= 400 && res.status < 500, `${name}: ${res.status}`);
        assert.equal(res.headers.get('content-type'), PROBLEM_TYPE, name);
        const body = (await res.json()) as Problem;
        outcomes[name] = body.code;
        assert.deepEqual(await t.stored(), storedBefore, name);
      }
    }
    // The "invalid" samples have broken EXIF, not broken pixels: they decode, so they are kept.
    // corrupted.jpg is cut short and does not decode.
    assert.deepEqual(outcomes, {
      'jpg/invalid/image00971.jpg': 'accepted',
      'jpg/invalid/image01088.jpg': 'accepted',
      'jpg/invalid/image01137.jpg': 'accepted',
      'jpg/invalid/image01551.jpg': 'accepted',
      'jpg/invalid/image01713.jpg': 'accepted',
      'jpg/invalid/image01980.jpg': 'accepted',
      'jpg/invalid/image02206.jpg': 'accepted',
      'jpg/corrupted.jpg': 'corrupt_image',
    });
    const health = await fetch(`${t.url}/healthz`, { signal: AbortSignal.timeout(15_000) });
    assert.equal(health.status, 200);
  });

  it('serves other requests while a slow upload is streaming, then stores the slow one too', async () => {
    const jpeg = await readFile(fixture('jpg/xmp/BlueSquare.jpg'));
    const boundary = `----imgd-slow-${randomBytes(8).toString('hex')}`;
    const { body } = multipart([{ name: 'file', filename: 'slow.jpg', data: jpeg }], boundary);
    const split = body.indexOf(jpeg) + 4096;
    const { req, answer } = openRaw(t, 'POST', '/api/v1/images', {
      ...t.auth,
      'content-type': `multipart/form-data; boundary=${boundary}`,
      'content-length': body.length,
    });
    req.write(body.subarray(0, split));

    // While the slow upload is paused mid-file: a whole other upload, and a health check.
    const [other, health] = await Promise.all([
      t.upload([fixture('jpg/gps/DSCN0012.jpg')]),
      fetch(`${t.url}/healthz`, { signal: AbortSignal.timeout(15_000) }),
      delay(1500),
    ]);
    assert.equal(other.status, 201, await other.clone().text());
    assert.equal(((await other.json()) as { filename: string }).filename, 'dscn0012.jpg');
    assert.equal(health.status, 200);

    req.end(body.subarray(split));
    const slow = await answer;
    assert.equal(slow.status, 201, await slow.clone().text());
    const image = (await slow.json()) as { filename: string; bytes: number };
    assert.equal(image.filename, 'slow.jpg');
    assert.equal(image.bytes, jpeg.length);
  });
});

describe('refusing uploads over MAX_FILE_SIZE', () => {
  let t: TestApp;
  before(async () => {
    t = await startApp({ MAX_FILE_SIZE: '100000' });
  });
  after(() => t.close());

  const noPartialFiles = async (): Promise<void> => {
    const tmp = path.join(t.dataDir, 'tmp');
    const left = await readdir(tmp).catch(() => []);
    assert.deepEqual(left, [], 'the partial staged file is removed');
  };

  it('refuses a 161 KB JPEG sent as multipart with 413', async () => {
    const problem = await expectRefusal(t, 413, 'file_too_large', () => t.upload([BIG_JPEG]));
    assert.equal(problem.limit, 100_000);
    await noPartialFiles();
  });

  it('refuses a 161 KB JPEG sent as a raw PUT with a Content-Length with 413', async () => {
    const bytes = await readFile(BIG_JPEG);
    await expectRefusal(t, 413, 'file_too_large', () =>
      fetch(`${t.url}/api/v1/images?filename=x.jpg`, { method: 'PUT', body: bytes, headers: { ...t.auth, 'content-type': 'image/jpeg' } }),
    );
    await noPartialFiles();
  });

  it('refuses a 161 KB JPEG sent as a chunked raw PUT (no Content-Length) with 413', async () => {
    const bytes = await readFile(BIG_JPEG);
    const chunks = Array.from({ length: Math.ceil(bytes.length / 16_384) }, (_, i) => bytes.subarray(i * 16_384, (i + 1) * 16_384));
    await expectRefusal(t, 413, 'file_too_large', () =>
      fetch(`${t.url}/api/v1/images?filename=x.jpg`, {
        method: 'PUT',
        body: Readable.toWeb(Readable.from(chunks)) as ReadableStream<Uint8Array>,
        duplex: 'half',
        headers: { ...t.auth, 'content-type': 'image/jpeg' },
      } as RequestInit),
    );
    await noPartialFiles();
  });

  it('still takes a file under the limit', async () => {
    const res = await t.upload([SMALL_JPEG]);
    assert.equal(res.status, 201, await res.text());
  });
});

describe('refusing uploads over the other configured limits', () => {
  const apps: TestApp[] = [];
  const start = async (env: Record<string, string>): Promise<TestApp> => {
    const t = await startApp(env);
    apps.push(t);
    return t;
  };
  after(() => Promise.all(apps.map((t) => t.close())));

  it('refuses three files when MAX_FILES is 2, and keeps none of them', async () => {
    const t = await start({ MAX_FILES: '2' });
    const problem = await expectRefusal(t, 400, 'too_many_files', () =>
      t.upload([SMALL_JPEG, fixture('jpg/Nikon_D70.jpg'), fixture('jpg/gps/DSCN0012.jpg')]),
    );
    assert.equal(problem.limit, 2);
  });

  it('refuses a TIFF when ALLOWED_FORMATS is jpeg', async () => {
    const t = await start({ ALLOWED_FORMATS: 'jpeg' });
    const problem = await expectRefusal(t, 415, 'unsupported_format', () => t.upload([fixture('tiff/Arbitro.tiff')]));
    assert.equal(problem.format, 'tiff');
    assert.deepEqual(problem.accepted, ['jpeg']);
  });

  it('refuses an animated GIF with more frames than MAX_FRAMES', async () => {
    const t = await start({ MAX_FRAMES: '3' });
    const problem = await expectRefusal(t, 422, 'too_many_frames', async () => t.upload([['spinner.gif', await animatedGif(5)]]));
    assert.equal(problem.frames, 5);
    assert.equal(problem.limit, 3);
    // The same kind of GIF within the limit is taken, so it is the frame count that was refused.
    const ok = await t.upload([['short.gif', await animatedGif(3)]]);
    assert.equal(ok.status, 201, await ok.clone().text());
    assert.equal(((await ok.json()) as { frames: number }).frames, 3);
  });

  it('refuses a progressive JPEG over MAX_PROGRESSIVE_PIXELS and takes a baseline one of the same size', async () => {
    const t = await start({ MAX_PROGRESSIVE_PIXELS: '100000' });
    const photo = sharp(fixture('jpg/orientation/landscape_1.jpg')).resize(400, 300);
    const progressive = await photo.clone().jpeg({ progressive: true }).toBuffer();
    const problem = await expectRefusal(t, 422, 'image_too_large', () => t.upload([['progressive.jpg', progressive]]));
    assert.equal(problem.limit, 100_000);
    const baseline = await t.upload([['baseline.jpg', await photo.clone().jpeg({ progressive: false }).toBuffer()]]);
    assert.equal(baseline.status, 201, await baseline.clone().text());
  });
});

describe('refusing path traversal in file names', () => {
  let sandbox: string;
  let dataDir: string;
  let t: TestApp;
  let passwdBefore: { size: number; mtimeMs: number } | undefined;
  before(async () => {
    // The data dir sits deep inside a sandbox, so a name that climbed out of it would land in the sandbox.
    sandbox = await mkdtemp(path.join(os.tmpdir(), 'imgd-traversal-'));
    dataDir = path.join(sandbox, 'a', 'b', 'c', 'd', 'data');
    await mkdir(dataDir, { recursive: true });
    t = await startApp({}, dataDir);
    passwdBefore = await stat('/etc/passwd').then(({ size, mtimeMs }) => ({ size, mtimeMs }), () => undefined);
  });
  after(async () => {
    await t.close();
    await rm(sandbox, { recursive: true, force: true });
  });

  const nothingOutsideDataDir = async (): Promise<void> => {
    for (const file of await walk(sandbox)) {
      assert.ok(file.startsWith(dataDir + path.sep), `${file} is inside the data dir`);
      assert.doesNotMatch(path.basename(file), /passwd/, `${file} is not named after the client's file`);
    }
    const passwdAfter = await stat('/etc/passwd').then(({ size, mtimeMs }) => ({ size, mtimeMs }), () => undefined);
    assert.deepEqual(passwdAfter, passwdBefore);
  };

  it('refuses a text file named ../../etc/passwd and writes nothing anywhere', async () => {
    await expectRefusal(t, 415, 'unsupported_format', () =>
      postMultipart(t, [{ name: 'file', filename: '../../etc/passwd', data: 'root:x:0:0:root:/root:/bin/bash\n' }]),
    );
    await nothingOutsideDataDir();
  });

  it('stores a real JPEG named ../../etc/passwd.jpg as passwd.jpg, inside the data dir', async () => {
    const bytes = await readFile(SMALL_JPEG);
    const res = await postMultipart(t, [{ name: 'file', filename: '../../etc/passwd.jpg', data: bytes }]);
    assert.equal(res.status, 201, await res.clone().text());
    const image = (await res.json()) as { filename: string; original_name: string; url: string };
    assert.equal(image.filename, 'passwd.jpg');
    assert.equal(image.original_name, 'passwd.jpg');
    assert.match(image.url, new RegExp(`^${t.url}/i/[A-Za-z0-9_-]{16}/passwd\\.jpg$`));
    assert.deepEqual(await t.stored(), { images: 1, blobs: 1, temp: 0 });
    const served = await fetch(image.url);
    assert.equal(served.status, 200);
    assert.deepEqual(Buffer.from(await served.arrayBuffer()), bytes);
    await nothingOutsideDataDir();
  });
});
