// media_server (seed 003) through the real server: HMAC ts.sig tokens in the seed's order, uploads, list, serving, delete, CORS, the Django snippet.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { startCompatApp, TOKEN, type CompatTestApp } from '../helpers/app.js';
import { attempts, largePhoto, multipart, nativeUrl, photo, photoAs, postFile, rawRequest } from '../helpers/compat.js';

const SECRET = 'change-me-to-a-long-random-secret';
const admin = { authorization: `Bearer ${TOKEN}` };
const run = promisify(execFile);

/** A token as the README's Django snippet makes one, for `ts` seconds from now. */
function token(offsetSeconds = 0, secret = SECRET): string {
  const ts = String(Math.floor(Date.now() / 1000) + offsetSeconds);
  return `${ts}.${createHmac('sha256', secret).update(ts).digest('hex')}`;
}

describe('media_server', () => {
  let t: CompatTestApp;
  let base: string;
  let png: Buffer;
  let big: Buffer;
  before(async () => {
    png = await photoAs('png');
    big = await largePhoto();
    t = await startCompatApp('media_server:own', { MEDIA_SERVER_SECRET: SECRET, MAX_BYTES: String(big.length) });
    base = t.at('media_server');
  });
  after(() => t.close());

  async function upload(data: Uint8Array | string, filename = 'photo.png', query = `?token=${token()}`): Promise<Response> {
    return postFile(`${base}/upload${query}`, { filename, type: 'image/png', data });
  }

  async function detailOf(res: Response, status: number, detail: unknown): Promise<void> {
    assert.equal(res.status, status);
    assert.equal(res.headers.get('content-type'), 'application/json');
    assert.deepEqual(await res.json(), { detail });
  }

  it('GET / is its health check', async () => {
    const res = await fetch(`${base}/`);
    assert.equal(res.headers.get('content-type'), 'application/json');
    assert.deepEqual(await res.json(), { status: 'ok', service: 'Media Server' });
  });

  describe('upload tokens, checked in the seed order, nothing stored on refusal', () => {
    it('no token: 422 listing the token, and the file when it is missing too', async () => {
      const before = await t.stored();
      await detailOf(await upload(png, 'a.png', ''), 422, [{ type: 'missing', loc: ['query', 'token'], msg: 'Field required', input: null }]);
      const empty = multipart([]);
      const bare = await fetch(`${base}/upload`, { method: 'POST', body: empty.body, headers: empty.headers });
      await detailOf(bare, 422, [
        { type: 'missing', loc: ['query', 'token'], msg: 'Field required', input: null },
        { type: 'missing', loc: ['body', 'file'], msg: 'Field required', input: null },
      ]);
      const noFile = await fetch(`${base}/upload?token=${token()}`, { method: 'POST', body: empty.body, headers: empty.headers });
      await detailOf(noFile, 422, [{ type: 'missing', loc: ['body', 'file'], msg: 'Field required', input: null }]);
      assert.deepEqual(await t.stored(), before);
    });

    it('401 with the seed messages: empty, malformed, expired (before the signature), future, bad signature', async () => {
      const before = await t.stored();
      const [ts] = token().split('.');
      const cases: Array<[string, string]> = [
        ['', 'Upload token is required.'],
        ['abc', 'Malformed token.'],
        ['abc.def', 'Malformed token.'],
        ['1.2.3', 'Malformed token.'],
        [token(-1000), 'Token has expired.'],
        [`${Number(ts) - 1000}.not-even-hex`, 'Token has expired.'],
        [token(120), 'Invalid token.'],
        [`${ts}.${'0'.repeat(64)}`, 'Invalid token.'],
        [`${ts}.short`, 'Invalid token.'],
        [token(0, 'another-secret-of-enough-length'), 'Invalid token.'],
      ];
      for (const [value, detail] of cases) await detailOf(await upload(png, 'a.png', `?token=${encodeURIComponent(value)}`), 401, detail);
      assert.deepEqual(await t.stored(), before);
    });

    it('takes Authorization: Bearer when ?token= is absent, and a token serves many uploads', async () => {
      const bearer = token();
      for (let i = 0; i < 2; i++) {
        const res = await postFile(`${base}/upload`, { filename: 'b.png', type: 'image/png', data: png }, { authorization: `Bearer ${bearer}` });
        assert.equal(res.status, 200);
      }
    });
  });

  describe('upload', () => {
    it('refuses an extension not listed, more than L bytes, and what is not an image, in that order', async () => {
      const before = await t.stored();
      const counted = await attempts(t.url, admin);
      await detailOf(await upload('hello', 'notes.txt'), 400, "File type '.txt' not allowed. Allowed: .jpg, .jpeg, .png, .gif, .webp, .bmp");
      await detailOf(await upload(png, 'noext'), 400, "File type '' not allowed. Allowed: .jpg, .jpeg, .png, .gif, .webp, .bmp");
      await detailOf(await upload(png, 'vector.svg'), 400, "File type '.svg' not allowed. Allowed: .jpg, .jpeg, .png, .gif, .webp, .bmp");
      await detailOf(await upload(Buffer.concat([big, Buffer.from([0])]), 'big.png'), 400, 'File too large. Max size is 1 MB.');
      await detailOf(await upload('not an image, whatever the name says', 'fake.png'), 400, 'Invalid image file.');
      assert.deepEqual(await t.stored(), before);
      assert.equal((await attempts(t.url, admin)).failed - counted.failed, 5, 'each refusal is an attempt record');
    });

    it('stores exactly L bytes as 32 hex + the extension, public, and answers exactly url and filename', async () => {
      const res = await upload(big, 'Holiday.PNG');
      assert.equal(res.status, 200);
      const body = (await res.json()) as { url: string; filename: string };
      assert.deepEqual(Object.keys(body).sort(), ['filename', 'url']);
      assert.match(body.filename, /^[0-9a-f]{32}\.png$/);
      assert.equal(body.url, `${base}/media/${body.filename}`);
      const served = await fetch(body.url);
      assert.equal(served.headers.get('content-type'), 'image/png');
      assert.deepEqual(Buffer.from(await served.arrayBuffer()), big);
      // An ordinary public imgd image.
      assert.equal((await fetch(await nativeUrl(t, body.filename))).status, 200);
    });

    it('builds url from Host and X-Forwarded-Proto of a trusted proxy', async () => {
      const form = multipart([{ name: 'file', filename: 'p.jpg', type: 'image/jpeg', data: await photo() }]);
      const headers = { ...form.headers, host: 'media.example.org', 'x-forwarded-proto': 'https' };
      const body = (await rawRequest(base, `/upload?token=${token()}`, { method: 'POST', headers, body: form.body })).json() as { url: string; filename: string };
      assert.equal(body.url, `https://media.example.org/media/${body.filename}`);
    });
  });

  describe('list and get', () => {
    it('lists every public image of imgd, newest first, count equal to the list; private ones left out', async () => {
      await t.upload([['private.jpg', await photo()]], { visibility: 'private' });
      const native = (await (await t.upload([['native.jpg', await photo()]])).json()) as { filename: string };
      const res = await fetch(`${base}/media`);
      const body = (await res.json()) as { count: number; images: Array<{ filename: string; url: string }> };
      assert.equal(body.count, body.images.length);
      assert.deepEqual(body.images[0], { filename: native.filename, url: `${base}/media/${native.filename}` });
      const all = (await (await fetch(`${t.url}/api/v1/images?limit=100`, { headers: admin })).json()) as { items: Array<{ filename: string; visibility: string }> };
      assert.deepEqual(
        body.images.map((i) => i.filename),
        all.items.filter((i) => i.visibility === 'public').map((i) => i.filename),
      );
    });

    it('ignores query parameters, refuses names that are not plain, 404 for unknown or private', async () => {
      const native = (await (await t.upload([['q.jpg', await photo()]])).json()) as { filename: string };
      assert.equal((await fetch(`${base}/media/${native.filename}?token=garbage`)).status, 200);
      for (const name of ['%2E%2E', 'a%5Cb', '%2E']) {
        const res = await rawRequest(base, `/media/${name}`);
        assert.equal(res.status, 400, name);
        assert.deepEqual(res.json(), { detail: 'Invalid filename.' });
      }
      await detailOf(await fetch(`${base}/media/none.png`), 404, 'Image not found.');
      const hidden = (await (await t.upload([['hidden.jpg', await photo()]], { visibility: 'private' })).json()) as { filename: string };
      await detailOf(await fetch(`${base}/media/${hidden.filename}`), 404, 'Image not found.');
    });
  });

  describe('delete', () => {
    it('checks the token, then the name, and deletes only images that came with an HMAC token', async () => {
      const { filename } = (await (await upload(png, 'gone.png')).json()) as { filename: string };
      const native = await nativeUrl(t, filename);
      await detailOf(await fetch(`${base}/media/${filename}`, { method: 'DELETE' }), 422, [{ type: 'missing', loc: ['query', 'token'], msg: 'Field required', input: null }]);
      await detailOf(await fetch(`${base}/media/${filename}?token=abc`, { method: 'DELETE' }), 401, 'Malformed token.');
      await detailOf(await fetch(`${base}/media/${filename}?token=${token(-5000)}`, { method: 'DELETE' }), 401, 'Token has expired.');
      assert.equal((await fetch(`${base}/media/${filename}`)).status, 200, 'kept after refusals');
      const dots = await rawRequest(base, `/media/%2E%2E?token=${token()}`, { method: 'DELETE' });
      assert.equal(dots.status, 400);
      assert.deepEqual(dots.json(), { detail: 'Invalid filename.' });

      const mine = (await (await t.upload([['mine.jpg', await photo()]])).json()) as { filename: string };
      await detailOf(await fetch(`${base}/media/${mine.filename}?token=${token()}`, { method: 'DELETE' }), 404, 'Image not found.');
      assert.equal((await fetch(`${base}/media/${mine.filename}`)).status, 200, 'an admin upload is not theirs to delete');

      await detailOf(await fetch(`${base}/media/${filename}?token=${token()}`, { method: 'DELETE' }), 200, `Deleted ${filename}`);
      await detailOf(await fetch(`${base}/media/${filename}?token=${token()}`, { method: 'DELETE' }), 404, 'Image not found.');
      await detailOf(await fetch(`${base}/media/${filename}`), 404, 'Image not found.');
      const list = (await (await fetch(`${base}/media`)).json()) as { images: Array<{ filename: string }> };
      assert.ok(!list.images.some((i) => i.filename === filename));
      assert.equal((await fetch(native)).status, 404, 'gone natively too');
    });

    it('deletes an image uploaded natively with the same kind of token', async () => {
      const form = multipart([{ name: 'file', filename: 'via-native.png', type: 'image/png', data: png }]);
      const res = await fetch(`${t.url}/api/v1/images?token=${token()}`, { method: 'POST', body: form.body, headers: form.headers });
      assert.equal(res.status, 201);
      const { filename } = (await res.json()) as { filename: string };
      await detailOf(await fetch(`${base}/media/${filename}?token=${token()}`, { method: 'DELETE' }), 200, `Deleted ${filename}`);
    });
  });

  describe('CORS', () => {
    it('allows any origin on every route, errors included, and answers preflights', async () => {
      const simple = await fetch(`${base}/media`, { headers: { origin: 'https://app.example' } });
      assert.equal(simple.headers.get('access-control-allow-origin'), '*');
      assert.equal(simple.headers.get('access-control-allow-credentials'), 'true');
      const withCookie = await fetch(`${base}/media/none.png`, { headers: { origin: 'https://app.example', cookie: 'a=b' } });
      assert.equal(withCookie.status, 404);
      assert.equal(withCookie.headers.get('access-control-allow-origin'), 'https://app.example');
      assert.match(withCookie.headers.get('vary') ?? '', /Origin/);
      const refusedToken = await upload(png, 'a.png', '?token=abc');
      assert.equal(refusedToken.status, 401);
      const preflight = await fetch(`${base}/upload`, {
        method: 'OPTIONS',
        headers: { origin: 'https://app.example', 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization' },
      });
      assert.equal(preflight.status, 200);
      assert.equal(await preflight.text(), 'OK');
      assert.equal(preflight.headers.get('access-control-allow-origin'), 'https://app.example');
      assert.equal(preflight.headers.get('access-control-allow-methods'), 'DELETE, GET, HEAD, OPTIONS, PATCH, POST, PUT');
      assert.equal(preflight.headers.get('access-control-allow-headers'), 'authorization');
      assert.equal(preflight.headers.get('access-control-allow-credentials'), 'true');
      assert.equal(preflight.headers.get('access-control-max-age'), '600');
    });
  });

  it("replays the README's Django token snippet with python3 and requests: upload, list, fetch, delete", async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'imgd-django-'));
    try {
      const image = path.join(dir, 'image.png');
      await writeFile(image, png);
      // The README's generate_upload_token, verbatim but for `settings`, then a frontend's calls with requests.
      const script = `
import hmac
import hashlib
import sys
import time
import requests

class settings:
    MEDIA_SERVER_SECRET = ${JSON.stringify(SECRET)}

def generate_upload_token():
    ts = str(int(time.time()))
    sig = hmac.new(
        settings.MEDIA_SERVER_SECRET.encode(),
        ts.encode(),
        hashlib.sha256,
    ).hexdigest()
    return f"{ts}.{sig}"

base = sys.argv[1]
token = generate_upload_token()
with open(sys.argv[2], "rb") as f:
    r = requests.post(f"{base}/upload", params={"token": token}, files={"file": ("image.png", f, "image/png")})
assert r.status_code == 200, r.text
body = r.json()
assert set(body) == {"url", "filename"}, body
listed = requests.get(f"{base}/media").json()
assert body["filename"] in [i["filename"] for i in listed["images"]], listed
assert requests.get(body["url"]).content == open(sys.argv[2], "rb").read()
d = requests.delete(f"{base}/media/{body['filename']}", params={"token": token})
assert d.json() == {"detail": f"Deleted {body['filename']}"}, d.text
assert requests.get(body["url"]).status_code == 404
print("ok")
`;
      const out = await run('python3', ['-c', script, base, image]);
      assert.equal(out.stdout.trim(), 'ok');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('replays the COMPAT.md curl examples (token made as the snippet makes it)', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'imgd-curl-'));
    try {
      const image = path.join(dir, 'image.png');
      await writeFile(image, png);
      const env = { ...process.env, MEDIA_SERVER_SECRET: SECRET };
      const made = await run('python3', ['-c', 'import hmac,hashlib,os,time; ts=str(int(time.time())); print(ts+"."+hmac.new(os.environ["MEDIA_SERVER_SECRET"].encode(), ts.encode(), hashlib.sha256).hexdigest())'], { env });
      const TOKEN_ = made.stdout.trim();
      assert.deepEqual(JSON.parse((await run('curl', ['-s', `${base}/`])).stdout), { status: 'ok', service: 'Media Server' });
      const up = JSON.parse((await run('curl', ['-s', '-X', 'POST', `${base}/upload?token=${TOKEN_}`, '-F', `file=@${image}`])).stdout) as { filename: string };
      assert.ok(JSON.parse((await run('curl', ['-s', `${base}/media`])).stdout).images.some((i: { filename: string }) => i.filename === up.filename));
      await run('curl', ['-s', '-o', 'image.png', `${base}/media/${up.filename}`], { cwd: dir });
      assert.deepEqual(await readFile(image), png);
      assert.deepEqual(JSON.parse((await run('curl', ['-s', '-X', 'DELETE', `${base}/media/${up.filename}?token=${TOKEN_}`])).stdout), { detail: `Deleted ${up.filename}` });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('media_server on the main listener', () => {
  let t: CompatTestApp;
  before(async () => {
    t = await startCompatApp('media_server', { MEDIA_SERVER_SECRET: SECRET, CORS_ORIGINS: 'https://allowed.example', RATE_LIMIT_UPLOAD: '3', UPLOAD_TOKEN_OWNER: 'frontend' });
  });
  after(() => t.close());

  it("answers / unless Accept names text/html, which stays the web UI's", async () => {
    assert.deepEqual(await (await fetch(`${t.url}/`)).json(), { status: 'ok', service: 'Media Server' });
    const browser = await fetch(`${t.url}/`, { headers: { accept: 'text/html,application/xhtml+xml' } });
    assert.notEqual(browser.headers.get('content-type'), 'application/json');
  });

  it('makes uploads public images of UPLOAD_TOKEN_OWNER, served at /media and /i/ alike', async () => {
    const owner = await t.app.accounts.addUser({ username: 'frontend', email: 'frontend@example.org', password: 'a long enough password' }, 'user');
    const res = await postFile(`${t.url}/upload?token=${token()}`, { filename: 'owned.png', type: 'image/png', data: await photoAs('png') });
    const { filename, url } = (await res.json()) as { filename: string; url: string };
    assert.equal(url, `${t.url}/media/${filename}`);
    const list = (await (await fetch(`${t.url}/api/v1/images?limit=100`, { headers: admin })).json()) as { items: Array<{ filename: string; owner_id: string | null; visibility: string }> };
    const image = list.items.find((i) => i.filename === filename);
    assert.deepEqual([image?.owner_id, image?.visibility], [owner.id, 'public']);
    assert.equal((await fetch(await nativeUrl(t, filename))).status, 200);
  });

  it("limits uploads by RATE_LIMIT_UPLOAD, answering 429 the seed's way with Retry-After", async () => {
    const send = (): Promise<Response> => postFile(`${t.url}/upload?token=abc`, { filename: 'a.png', type: 'image/png', data: 'x' });
    assert.equal((await send()).status, 401);
    assert.equal((await send()).status, 401);
    const limited = await send();
    assert.equal(limited.status, 429);
    assert.ok(Number(limited.headers.get('retry-after')) > 0);
    assert.equal(limited.headers.get('content-type'), 'application/json');
    assert.deepEqual(await limited.json(), { detail: 'Too many requests' });
  });

  it('with CORS_ORIGINS, only those origins get CORS; a preflight from another is 400', async () => {
    const ok = await fetch(`${t.url}/media`, { headers: { origin: 'https://allowed.example' } });
    assert.equal(ok.headers.get('access-control-allow-origin'), '*');
    const other = await fetch(`${t.url}/media`, { headers: { origin: 'https://other.example' } });
    assert.equal(other.headers.get('access-control-allow-origin'), null);
    const preflight = await fetch(`${t.url}/upload`, { method: 'OPTIONS', headers: { origin: 'https://other.example', 'access-control-request-method': 'POST' } });
    assert.equal(preflight.status, 400);
    assert.equal(await preflight.text(), 'Disallowed CORS origin');
  });
});
