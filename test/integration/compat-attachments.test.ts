// COMPAT attachments (seed 002): every route and error of COMPAT.md §5 on imgd's users, JWTs and access rules; the README's curl.
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { originalKey } from '../../src/core/storage/blob-keys.js';
import { fixture, startCompatApp, type CompatTestApp } from '../helpers/app.js';
import { expectJson as json, postForm, replay, type Json, type Part } from '../helpers/seed-clients.js';
import { nativeUrl } from '../helpers/compat.js';

const PHOTO = fixture('jpg/Canon_40D.jpg');
const PORTRAIT = fixture('jpg/xmp/no_exif.jpg'); // 182 KB: over the test's limit
const SECONDS = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d$/;
const UUID_NAME = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}\.jpg$/;

describe('attachments', () => {
  let t: CompatTestApp;
  let base: string;
  before(async () => {
    t = await startCompatApp('attachments:own', { REGISTRATION: 'open', MAX_FILE_SIZE: '170000', PROCESSING: 'false', RATE_LIMIT_REGISTER: '0', RATE_LIMIT_LOGIN: '0' });
    base = t.at('attachments');
  });
  after(() => t.close());

  const registerUser = (body: unknown): Promise<Response> =>
    fetch(`${base}/register`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const token = async (username: string, password: string): Promise<string> => {
    const res = await fetch(`${base}/token`, { method: 'POST', body: new URLSearchParams({ username, password }) });
    return (await json(res)).access_token as string;
  };
  /** A registered user and their bearer header. */
  async function user(name: string): Promise<{ auth: { authorization: string }; view: Json }> {
    const view = await json(await registerUser({ username: name, email: `${name}@example.com`, password: `${name}-secret-1` }));
    return { view, auth: { authorization: `Bearer ${await token(name, `${name}-secret-1`)}` } };
  }
  const upload = async (auth: Record<string, string>, parts: Part[]): Promise<Response> => postForm(`${base}/upload`, parts, auth);
  const photo = async (filename = 'holiday.jpg'): Promise<Part> => ({ name: 'file', filename, type: 'image/jpeg', data: await readFile(PHOTO) });

  it('registers an imgd user: the seed user object with an integer id, visible natively', async () => {
    const res = await registerUser({ username: 'john_doe', email: 'john@example.com', password: 'securepassword123' });
    const view = await json(res);
    assert.deepEqual(Object.keys(view), ['username', 'email', 'id', 'created_at', 'updated_at']);
    assert.equal(view.username, 'john_doe');
    assert.equal(view.email, 'john@example.com');
    assert.ok(Number.isInteger(view.id) && view.id > 0);
    assert.match(view.created_at, SECONDS);
    assert.equal(view.updated_at, null);
    const jwt = await token('john_doe', 'securepassword123');
    assert.equal(jwt.split('.').length, 3);
    const me = await json(await fetch(`${base}/users/me`, { headers: { authorization: `Bearer ${jwt}` } }));
    assert.deepEqual(me, view);
    const native = (await (await fetch(`${t.url}/api/v1/auth/me`, { headers: { authorization: `Bearer ${jwt}` } })).json()) as Json;
    assert.equal(native.username, 'john_doe');
  });

  it('signs in a user registered natively, and shows updated_at once the password changed', async () => {
    const native = await fetch(`${t.url}/api/v1/auth/register`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'native-nina', email: 'nina@example.com', password: 'nina-secret-1' }),
    });
    assert.equal(native.status, 201);
    const auth = { authorization: `Bearer ${await token('native-nina', 'nina-secret-1')}` };
    const before = await json(await fetch(`${base}/users/me`, { headers: auth }));
    assert.equal(before.updated_at, null);
    const changed = await fetch(`${t.url}/api/v1/auth/password`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({ current_password: 'nina-secret-1', new_password: 'nina-secret-2' }),
    });
    assert.equal(changed.status, 204);
    // The change ended the session: sign in again with the new password.
    assert.deepEqual(await json(await fetch(`${base}/users/me`, { headers: auth }), 401), { detail: 'Could not validate credentials' });
    const after = await json(await fetch(`${base}/users/me`, { headers: { authorization: `Bearer ${await token('native-nina', 'nina-secret-2')}` } }));
    assert.match(after.updated_at, SECONDS);
    assert.equal(after.id, before.id);
  });

  it('refuses registrations as the seed did: taken names, bad fields, not JSON', async () => {
    await user('taken');
    assert.deepEqual(await json(await registerUser({ username: 'taken', email: 'other@example.com', password: 'password123' }), 400), { detail: 'Username already registered' });
    assert.deepEqual(await json(await registerUser({ username: 'fresh', email: 'taken@example.com', password: 'password123' }), 400), { detail: 'Email already registered' });
    const missing = await json(await registerUser({ username: 'x1x' }), 422);
    assert.deepEqual(missing.detail.map((d: Json) => d.loc), [['body', 'email'], ['body', 'password']]);
    assert.equal(missing.detail[0].type, 'missing');
    const wrongType = await json(await registerUser({ username: 5, email: 'a@example.com', password: 'password123' }), 422);
    assert.deepEqual(wrongType.detail[0].loc, ['body', 'username']);
    const email = await json(await registerUser({ username: 'mailless', email: 'not-an-email', password: 'password123' }), 422);
    assert.deepEqual(email.detail[0].loc, ['body', 'email']);
    const notJson = await fetch(`${base}/register`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"username": ' });
    assert.equal((await json(notJson, 422)).detail[0].type, 'json_invalid');
  });

  it('refuses a wrong password or unknown user with 401 and WWW-Authenticate, missing fields with 422', async () => {
    await user('pat');
    for (const fields of [{ username: 'pat', password: 'wrong-password' }, { username: 'nobody', password: 'whatever1' }]) {
      const res = await fetch(`${base}/token`, { method: 'POST', body: new URLSearchParams(fields) });
      assert.equal(res.headers.get('www-authenticate'), 'Bearer');
      assert.deepEqual(await json(res, 401), { detail: 'Incorrect username or password' });
    }
    const missing = await json(await fetch(`${base}/token`, { method: 'POST', body: new URLSearchParams({ username: 'pat' }) }), 422);
    assert.deepEqual(missing.detail, [{ type: 'missing', loc: ['body', 'password'], msg: 'Field required', input: null }]);
    const multipartLogin = await fetch(`${base}/token`, { method: 'POST', body: (() => { const f = new FormData(); f.append('username', 'pat'); f.append('password', 'pat-secret-1'); return f; })() });
    assert.equal((await json(multipartLogin)).token_type, 'bearer');
  });

  it('refuses requests without a bearer token or with a bad one, before reading the body', async () => {
    for (const [headers, detail] of [
      [{}, 'Not authenticated'],
      [{ authorization: 'Basic dXNlcjpwYXNz' }, 'Not authenticated'],
      [{ authorization: 'Bearer not.a.jwt' }, 'Could not validate credentials'],
      [{ authorization: 'Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl' }, 'Could not validate credentials'],
    ] as const) {
      for (const [method, route] of [['GET', '/users/me'], ['GET', '/images'], ['GET', '/images/1'], ['DELETE', '/images/1'], ['GET', '/download/x.jpg']]) {
        const res = await fetch(`${base}${route}`, { method, headers });
        assert.equal(res.headers.get('www-authenticate'), 'Bearer');
        assert.deepEqual(await json(res, 401), { detail }, `${method} ${route}`);
      }
      const before = await t.stored();
      assert.deepEqual(await json(await upload(headers, [await photo()]), 401), { detail });
      assert.deepEqual(await t.stored(), before);
    }
  });

  it('uploads a private image of the caller: the attachment object, listed, read, downloaded, inline at download_url', async () => {
    const ann = await user('ann');
    const created = await json(await upload(ann.auth, [await photo('My holiday.jpg'), { name: 'description', data: 'My uploaded image' }]));
    assert.deepEqual(Object.keys(created), ['id', 'filename', 'original_filename', 'file_size', 'mime_type', 'description', 'uploaded_at', 'download_url']);
    assert.ok(Number.isInteger(created.id));
    assert.match(created.filename, UUID_NAME);
    assert.equal(created.original_filename, 'My holiday.jpg');
    const bytes = await readFile(PHOTO);
    assert.equal(created.file_size, bytes.length);
    assert.equal(created.mime_type, 'image/jpeg');
    assert.equal(created.description, 'My uploaded image');
    assert.match(created.uploaded_at, SECONDS);
    assert.equal(created.download_url, `/images/${created.filename}`);

    assert.deepEqual(await json(await fetch(`${base}/images/${created.id}`, { headers: ann.auth })), created);
    const list = await json(await fetch(`${base}/images`, { headers: ann.auth }));
    assert.deepEqual(list, [created]);

    const download = await fetch(`${base}/download/${created.filename}`, { headers: ann.auth });
    assert.equal(download.status, 200);
    assert.equal(download.headers.get('content-type'), 'image/jpeg');
    assert.equal(download.headers.get('content-disposition'), `attachment; filename*=utf-8''My%20holiday.jpg`);
    assert.ok(download.headers.get('etag'));
    assert.deepEqual(Buffer.from(await download.arrayBuffer()), bytes);
    const inline = await fetch(`${base}${created.download_url}`, { headers: ann.auth });
    assert.equal(inline.status, 200);
    assert.equal(inline.headers.get('content-disposition'), null);
    assert.deepEqual(Buffer.from(await inline.arrayBuffer()), bytes);
    const ranged = await fetch(`${base}${created.download_url}`, { headers: { ...ann.auth, range: 'bytes=0-9' } });
    assert.equal(ranged.status, 206);

    // The same image natively: private, Ann's, with her description.
    const native = (await (await fetch(`${t.url}/api/v1/images?q=${created.filename}`, { headers: ann.auth })).json()) as { items: Json[] };
    assert.equal(native.items.length, 1);
    assert.equal(native.items[0]!.visibility, 'private');
    assert.equal(native.items[0]!.description, 'My uploaded image');
    assert.equal((await fetch(String(native.items[0]!.url))).status, 404, 'private without a credential');
    assert.equal((await fetch(String(native.items[0]!.url), { headers: ann.auth })).status, 200, 'served natively to its owner');
  });

  it('keeps the description as sent: an empty one stays "", spaces stay; absent is null', async () => {
    const sam = await user('sam');
    for (const [description, expected] of [[[{ name: 'description', data: '' }], ''], [[{ name: 'description', data: '  Two  spaces ' }], '  Two  spaces '], [[], null]] as const) {
      const created = await json(await upload(sam.auth, [...description, await photo()]));
      assert.equal(created.description, expected);
      assert.equal((await json(await fetch(`${base}/images/${created.id}`, { headers: sam.auth }))).description, expected, 'read back');
      const native = (await (await fetch(`${t.url}/api/v1/images?q=${created.filename}`, { headers: sam.auth })).json()) as { items: Json[] };
      assert.equal(native.items[0]!.description, expected, 'the same description natively');
    }
  });

  it("never reaches another user's images, and admins reach all", async () => {
    const owner = await user('owner1');
    const other = await user('other1');
    const created = await json(await upload(owner.auth, [await photo()]));
    for (const route of [`/images/${created.id}`, `/images/${created.filename}`, `/download/${created.filename}`]) {
      assert.deepEqual(await json(await fetch(`${base}${route}`, { headers: other.auth }), 404), { detail: 'Image not found' }, route);
    }
    assert.deepEqual(await json(await fetch(`${base}/images/${created.id}`, { method: 'DELETE', headers: other.auth }), 404), { detail: 'Image not found' });
    assert.deepEqual(await json(await fetch(`${base}/images`, { headers: other.auth })), []);
    // A public native image of the owner is still not the other user's attachment.
    const pub = await t.upload([PHOTO], { visibility: 'public' }, owner.auth);
    const pubName = ((await pub.json()) as { filename: string }).filename;
    assert.equal((await fetch(`${base}/images/${pubName}`, { headers: other.auth })).status, 404);
    // The admin token sees it.
    assert.equal((await fetch(`${base}/images/${created.id}`, { headers: t.auth })).status, 200);
  });

  it('deletes an image everywhere; a non-integer id is 422, a second delete 404', async () => {
    const bea = await user('bea');
    const created = await json(await upload(bea.auth, [await photo()]));
    const native = await nativeUrl(t, created.filename);
    assert.equal((await json(await fetch(`${base}/images/abc`, { method: 'DELETE', headers: bea.auth }), 422)).detail[0].loc.join('/'), 'path/image_id');
    assert.deepEqual(await json(await fetch(`${base}/images/${created.id}`, { method: 'DELETE', headers: bea.auth })), { message: 'Image deleted successfully' });
    assert.deepEqual(await json(await fetch(`${base}/images/${created.id}`, { method: 'DELETE', headers: bea.auth }), 404), { detail: 'Image not found' });
    assert.deepEqual(await json(await fetch(`${base}/images`, { headers: bea.auth })), []);
    assert.equal((await fetch(`${base}/download/${created.filename}`, { headers: bea.auth })).status, 404);
    assert.equal((await fetch(native, { headers: t.auth })).status, 404);
    // A native upload of hers is an attachment here, and a native delete removes it here.
    const hers = await t.upload([PHOTO], { visibility: 'private' }, bea.auth);
    const nativeId = ((await hers.json()) as { id: string }).id;
    assert.equal((await json(await fetch(`${base}/images`, { headers: bea.auth }))).length, 1);
    assert.equal((await fetch(`${t.url}/api/v1/images/${nativeId}`, { method: 'DELETE', headers: bea.auth })).status, 204);
    assert.deepEqual(await json(await fetch(`${base}/images`, { headers: bea.auth })), []);
  });

  it('refuses uploads in the seed order, recording each, storing nothing', async () => {
    const cy = await user('cyd');
    const cases: Array<[Part[], number, unknown]> = [
      [[{ name: 'description', data: 'no file' }], 422, { detail: [{ type: 'missing', loc: ['body', 'file'], msg: 'Field required', input: null }] }],
      [[{ name: 'file', filename: '', type: 'image/jpeg', data: await readFile(PHOTO) }], 400, { detail: 'No filename provided' }],
      [[{ name: 'file', filename: 'notes.txt', type: 'text/plain', data: 'hello' }], 400, { detail: 'File type not allowed. Allowed types: jpg, jpeg, png, gif, webp' }],
      [[{ name: 'file', filename: 'scan.tiff', type: 'image/tiff', data: await readFile(fixture('tiff/Arbitro.tiff')) }], 400, { detail: 'File type not allowed. Allowed types: jpg, jpeg, png, gif, webp' }],
      [[{ name: 'file', filename: 'big.jpg', type: 'image/jpeg', data: await readFile(PORTRAIT) }], 400, { detail: 'File too large. Maximum size: 0MB' }],
    ];
    const failed = async (): Promise<number> => ((await (await fetch(`${t.url}/api/v1/stats`, { headers: t.auth })).json()) as { failed: number }).failed;
    for (const [parts, status, expected] of cases) {
      const before = await t.stored();
      const failedBefore = await failed();
      assert.deepEqual(await json(await upload(cy.auth, parts), status), expected);
      assert.deepEqual(await t.stored(), before);
      assert.equal(await failed(), failedBefore + 1, 'the refusal is recorded');
    }
    const garbage = await json(await upload(cy.auth, [{ name: 'file', filename: 'fake.png', type: 'image/png', data: 'not an image' }]), 400);
    assert.match(garbage.detail, /^Invalid image file: .+/);
    assert.deepEqual(await json(await fetch(`${base}/images`, { headers: cy.auth })), []);
  });

  it('answers a row whose bytes are gone from the store with the seed 404', async () => {
    const dee = await user('dee');
    const created = await json(await upload(dee.auth, [{ name: 'file', filename: 'solo.png', type: 'image/png', data: await (await import('sharp')).default({ create: { width: 3, height: 3, channels: 3, background: '#123' } }).png().toBuffer() }]));
    const image = await t.app.catalog.getImageByFilename(created.filename);
    await t.app.store.delete(originalKey(image!.sha256));
    assert.deepEqual(await json(await fetch(`${base}/download/${created.filename}`, { headers: dee.auth }), 404), { detail: 'Image file not found on server' });
  });

  it("replays the README's curl examples verbatim", async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'attachments-readme-'));
    try {
      await writeFile(path.join(dir, 'image.jpg'), await readFile(PHOTO));
      const bases = { 'http://localhost:8000': base, '/path/to/your/': `${dir}/` };
      const registered = JSON.parse(
        await replay(
          `curl -X POST "http://localhost:8000/register" \\
  -H "Content-Type: application/json" \\
  -d '{"username": "testuser", "email": "test@example.com", "password": "password123"}'`,
          bases,
        ),
      ) as Json;
      assert.equal(registered.username, 'testuser');
      const login = JSON.parse(
        await replay(
          `curl -X POST "http://localhost:8000/token" \\
  -H "Content-Type: application/x-www-form-urlencoded" \\
  -d "username=testuser&password=password123"`,
          bases,
        ),
      ) as Json;
      assert.equal(login.token_type, 'bearer');
      const withToken = { ...bases, '<your-jwt-token>': login.access_token as string };
      const uploaded = JSON.parse(
        await replay(
          `curl -X POST "http://localhost:8000/upload" \\
  -H "Authorization: Bearer <your-jwt-token>" \\
  -F "file=@/path/to/your/image.jpg" \\
  -F "description=My uploaded image"`,
          withToken,
        ),
      ) as Json;
      assert.equal(uploaded.description, 'My uploaded image');
      const listed = JSON.parse(
        await replay(
          `curl -X GET "http://localhost:8000/images" \\
  -H "Authorization: Bearer <your-jwt-token>"`,
          withToken,
        ),
      ) as Json[];
      assert.deepEqual(listed, [uploaded]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe("attachments' docs", () => {
  const PATHS = ['/register', '/token', '/users/me', '/upload', '/images', '/images/{image_id}', '/download/{filename}'];

  async function checkDocs(base: string): Promise<Record<string, unknown>> {
    const docs = await fetch(`${base}/docs`);
    assert.equal(docs.status, 200);
    const swaggerHtml = await docs.text();
    assert.ok(swaggerHtml.includes('swagger'), 'Swagger UI');
    assert.ok(!/https?:\/\/(?!localhost|127\.0\.0\.1)[^"']*\.(js|css)/.test(swaggerHtml), 'no asset from elsewhere');
    const openapi = (await (await fetch(`${base}/openapi.json`)).json()) as { openapi: string; paths: Record<string, unknown> };
    assert.ok(openapi.openapi.startsWith('3.'));
    for (const path of PATHS) assert.ok(path in openapi.paths, path);
    const redoc = await fetch(`${base}/redoc`);
    assert.equal(redoc.status, 200);
    assert.equal(redoc.headers.get('content-type'), 'text/html; charset=utf-8');
    assert.match(redoc.headers.get('content-security-policy') ?? '', /script-src 'self';.*img-src 'self' data:;/, 'nothing from a CDN');
    const page = await redoc.text();
    assert.match(page, /<redoc spec-url="\/openapi\.json"><\/redoc>\s*<script src="\/redoc\/redoc\.standalone\.js"><\/script>/);
    // Without script, a table of every path.
    for (const path of PATHS) assert.ok(page.includes(path), path);
    const bundle = await fetch(`${base}/redoc/redoc.standalone.js`);
    assert.equal(bundle.status, 200);
    assert.match(bundle.headers.get('content-type') ?? '', /^text\/javascript/);
    assert.match(await bundle.text(), /Redoc/);
    return openapi.paths;
  }

  /** The docs of an app started with this COMPAT setting, at the profile's base. */
  async function docsOf(compat: string): Promise<Record<string, unknown>> {
    const t = await startCompatApp(compat, { PROCESSING: 'false' });
    try {
      return await checkDocs(t.at('attachments'));
    } finally {
      await t.close();
    }
  }

  it('serves Swagger UI, ReDoc and OpenAPI 3 on a listener of its own', async () => {
    await docsOf('attachments:own');
  });

  it("merges into imgd's own document on the main listener", async () => {
    assert.ok('/api/v1/images' in (await docsOf('attachments')));
  });
});

describe("attachments' rate limits", () => {
  let t: CompatTestApp;
  before(async () => {
    t = await startCompatApp('attachments', { REGISTRATION: 'open', RATE_LIMIT_LOGIN: '2', RATE_LIMIT_REGISTER: '2', PROCESSING: 'false' });
  });
  after(() => t.close());

  it("count the accounts /register creates: refused registrations never reach RATE_LIMIT_REGISTER, a 3rd account is 429", async () => {
    const registerUser = (username: string, email = `${username}@example.com`): Promise<Response> =>
      fetch(`${t.url}/register`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username, email, password: 'long enough password' }) });
    assert.equal((await registerUser('first')).status, 200);
    for (let i = 0; i < 4; i += 1) assert.deepEqual(await json(await registerUser('first', `f${i}@example.com`), 400), { detail: 'Username already registered' });
    assert.equal((await registerUser('other', 'not an e-mail')).status, 422);
    assert.equal((await registerUser('second')).status, 200);
    // With Redis the first counts may be kept in this process while its client connects: a few more tries at most.
    let limited = await registerUser('third');
    for (let i = 0; i < 4 && limited.status === 200; i++) limited = await registerUser(`third${i}`);
    assert.ok(Number(limited.headers.get('retry-after')) > 0);
    assert.deepEqual(await json(limited, 429), { detail: 'Too many requests' });
  });

  it("answer /token past imgd's RATE_LIMIT_LOGIN with 429, Retry-After and the seed's shape", async () => {
    const tryLogin = (): Promise<Response> => fetch(`${t.url}/token`, { method: 'POST', body: new URLSearchParams({ username: 'ghost', password: 'nothing-1' }) });
    assert.equal((await tryLogin()).status, 401);
    assert.equal((await tryLogin()).status, 401);
    // With Redis the first counts may be kept in this process while its client connects: a few more tries at most.
    let limited = await tryLogin();
    for (let i = 0; i < 4 && limited.status === 401; i++) limited = await tryLogin();
    assert.ok(Number(limited.headers.get('retry-after')) > 0);
    assert.deepEqual(await json(limited, 429), { detail: 'Too many requests' });
  });
});
