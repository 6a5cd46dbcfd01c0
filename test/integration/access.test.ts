import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { setTimeout as delay } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { fixture, startApp, TOKEN, type TestApp } from '../helpers/app.js';
import {
  bearer,
  createKey,
  expectProblem,
  json,
  login,
  pythonHmacToken,
  signUp,
  type ApiKeyView,
} from '../helpers/accounts.js';
import { runCli } from '../helpers/processes.js';
import type { Image } from '../helpers/images.js';

const SMALL = fixture('jpg/Canon_40D.jpg'); // 7,958 bytes
const MEDIUM = fixture('jpg/Nikon_D70.jpg'); // 14,034 bytes
const OTHER = fixture('jpg/tests/32-lens_data.jpeg');

/** Open registration and no rate limits: these tests sign in and upload many times from one address. */
const OPEN = { REGISTRATION: 'open', RATE_LIMIT_LOGIN: '0', RATE_LIMIT_REGISTER: '0', RATE_LIMIT_UPLOAD: '0' };
const HMAC_SECRET = 'seed-003-shared-secret';

type Session = Awaited<ReturnType<typeof signUp>>;

/** Uploads one file with these headers and answers the image object (expecting 201). */
async function uploadAs(t: TestApp, headers: Record<string, string>, fields: Record<string, string> = {}, file = SMALL): Promise<Image> {
  const res = await t.upload([file], fields, headers);
  assert.equal(res.status, 201, await res.clone().text());
  return (await res.json()) as Image;
}

async function listIds(t: TestApp, headers: Record<string, string>, query = ''): Promise<string[]> {
  const res = await fetch(`${t.url}/api/v1/images?limit=100${query}`, { headers });
  assert.equal(res.status, 200, await res.clone().text());
  return ((await res.json()) as { items: Image[] }).items.map((i) => i.id).sort();
}

const getImage = (t: TestApp, id: string, headers: Record<string, string>): Promise<Response> => fetch(`${t.url}/api/v1/images/${id}`, { headers });
const patchImage = (t: TestApp, id: string, body: unknown, headers: Record<string, string>): Promise<Response> =>
  fetch(`${t.url}/api/v1/images/${id}`, { method: 'PATCH', body: JSON.stringify(body), headers: { ...headers, 'content-type': 'application/json' } });
const deleteImage = (t: TestApp, id: string, headers: Record<string, string>): Promise<Response> =>
  fetch(`${t.url}/api/v1/images/${id}`, { method: 'DELETE', headers });
const share = (t: TestApp, id: string, body: unknown, headers: Record<string, string>): Promise<Response> =>
  fetch(`${t.url}/api/v1/images/${id}/share`, json(body, headers));

async function stillThere(t: TestApp, image: Image, expected: Partial<Image> = {}): Promise<void> {
  const res = await getImage(t, image.id, t.auth);
  assert.equal(res.status, 200, `${image.id} is still stored`);
  const body = (await res.json()) as Image;
  for (const [name, value] of Object.entries(expected)) assert.deepEqual(body[name as keyof Image], value, name);
}

describe('two users and their images', () => {
  let t: TestApp;
  let alice: Session;
  let bob: Session;
  let alicePrivate: Image;
  let alicePublic: Image;
  let bobPrivate: Image;

  before(async () => {
    t = await startApp(OPEN);
    alice = await signUp(t, 'alice');
    bob = await signUp(t, 'bob');
    alicePrivate = await uploadAs(t, alice.auth, { visibility: 'private', description: 'alice private' }, SMALL);
    alicePublic = await uploadAs(t, alice.auth, { visibility: 'public', description: 'alice public' }, MEDIUM);
    bobPrivate = await uploadAs(t, bob.auth, { visibility: 'private' }, OTHER);
  });
  after(() => t.close());

  it('records the uploader as the owner', () => {
    assert.equal(alicePrivate.owner_id, alice.user.id);
    assert.equal(alicePublic.owner_id, alice.user.id);
    assert.equal(bobPrivate.owner_id, bob.user.id);
  });

  it("answers 404 (not 403) to another user's GET, PATCH, DELETE and share of a private image", async () => {
    await expectProblem(await getImage(t, alicePrivate.id, bob.auth), 404, 'not_found');
    await expectProblem(await patchImage(t, alicePrivate.id, { description: 'mine now' }, bob.auth), 404, 'not_found');
    await expectProblem(await deleteImage(t, alicePrivate.id, bob.auth), 404, 'not_found');
    await expectProblem(await share(t, alicePrivate.id, { expires_in: 60 }, bob.auth), 404, 'not_found');
    await stillThere(t, alicePrivate, { description: 'alice private', visibility: 'private' });
  });

  it('answers the same 404 for a private image as for an id that does not exist', async () => {
    const hidden = await expectProblem(await getImage(t, alicePrivate.id, bob.auth), 404, 'not_found');
    const absent = await expectProblem(await getImage(t, 'no-such-image-id', bob.auth), 404, 'not_found');
    assert.equal(hidden.title, absent.title);
  });

  it("answers 404 on a private image's URL to another user and to anyone without a credential", async () => {
    await expectProblem(await fetch(alicePrivate.url, { headers: bob.auth }), 404, 'not_found');
    await expectProblem(await fetch(alicePrivate.url), 404, 'not_found');
    assert.equal((await fetch(alicePrivate.url, { method: 'HEAD', headers: bob.auth })).status, 404);
    const own = await fetch(alicePrivate.url, { headers: alice.auth });
    assert.equal(own.status, 200);
    assert.deepEqual(Buffer.from(await own.arrayBuffer()), await readFile(SMALL));
  });

  it("lists each user's own images only, whatever owner they ask for", async () => {
    assert.deepEqual(await listIds(t, alice.auth), [alicePrivate.id, alicePublic.id].sort());
    assert.deepEqual(await listIds(t, bob.auth), [bobPrivate.id]);
    assert.deepEqual(await listIds(t, bob.auth, `&owner=${alice.user.id}`), [bobPrivate.id]);
  });

  it("lets another user see a public image by URL and by id, but answers 403 to PATCH and DELETE", async () => {
    const served = await fetch(alicePublic.url);
    assert.equal(served.status, 200);
    const byBob = await fetch(alicePublic.url, { headers: bob.auth });
    assert.equal(byBob.status, 200);
    const got = await getImage(t, alicePublic.id, bob.auth);
    assert.equal(got.status, 200);
    assert.equal(((await got.json()) as Image).id, alicePublic.id);
    await expectProblem(await patchImage(t, alicePublic.id, { visibility: 'private' }, bob.auth), 403, 'forbidden');
    await expectProblem(await deleteImage(t, alicePublic.id, bob.auth), 403, 'forbidden');
    await expectProblem(await share(t, alicePublic.id, { expires_in: 60 }, bob.auth), 403, 'forbidden');
    await stillThere(t, alicePublic, { visibility: 'public', description: 'alice public' });
  });

  it('lets the owner change and share their own image', async () => {
    const res = await patchImage(t, alicePrivate.id, { description: 'renamed by alice' }, alice.auth);
    assert.equal(res.status, 200);
    assert.equal(((await res.json()) as Image).description, 'renamed by alice');
    assert.equal((await share(t, alicePrivate.id, { expires_in: 60 }, alice.auth)).status, 200);
  });

  it("lets the admin token see, serve and list everyone's images, and filter by ?owner=", async () => {
    const got = await getImage(t, alicePrivate.id, t.auth);
    assert.equal(got.status, 200);
    assert.equal((await fetch(alicePrivate.url, { headers: t.auth })).status, 200);
    assert.deepEqual(await listIds(t, t.auth), [alicePrivate.id, alicePublic.id, bobPrivate.id].sort());
    assert.deepEqual(await listIds(t, t.auth, `&owner=${bob.user.id}`), [bobPrivate.id]);
    assert.deepEqual(await listIds(t, t.auth, `&owner=${alice.user.id}`), [alicePrivate.id, alicePublic.id].sort());
  });

  it("lets an admin user see and list everyone's images, filter by owner, and change them", async () => {
    const out = await runCli(['user', 'add', 'root', '--admin', '--password-stdin'], { ...t.settings, DATA_DIR: t.dataDir, AUTH_TOKEN: TOKEN }, 'root password 1\n');
    assert.equal(out.code, 0, out.stderr);
    const admin = bearer(await login(t, 'root', 'root password 1'));
    assert.equal((await getImage(t, bobPrivate.id, admin)).status, 200);
    assert.equal((await fetch(bobPrivate.url, { headers: admin })).status, 200);
    assert.deepEqual(await listIds(t, admin), [alicePrivate.id, alicePublic.id, bobPrivate.id].sort());
    assert.deepEqual(await listIds(t, admin, `&owner=${alice.user.id}`), [alicePrivate.id, alicePublic.id].sort());
    const patched = await patchImage(t, bobPrivate.id, { description: 'moderated' }, admin);
    assert.equal(patched.status, 200);
    assert.equal(((await patched.json()) as Image).description, 'moderated');
  });

  it('answers 401 to anonymous callers of the API, private or public image alike', async () => {
    await expectProblem(await getImage(t, alicePublic.id, {}), 401, 'unauthorized');
    await expectProblem(await fetch(`${t.url}/api/v1/images`), 401, 'unauthorized');
    await expectProblem(await deleteImage(t, alicePublic.id, {}), 401, 'unauthorized');
    await stillThere(t, alicePublic);
  });
});

describe('API keys', () => {
  let t: TestApp;
  let carol: Session;
  let dave: Session;

  before(async () => {
    t = await startApp(OPEN);
    carol = await signUp(t, 'carol');
    dave = await signUp(t, 'dave');
  });
  after(() => t.close());

  it('shows the key once at creation; the listing has its prefix and never the key', async () => {
    const created = await createKey(t, carol.auth, ['read', 'upload'], 'laptop');
    assert.match(created.key, /^imgd_k_[\w-]{43}$/);
    assert.ok(created.key.startsWith(created.prefix));
    assert.ok(created.prefix.length < created.key.length / 2);
    assert.deepEqual(created.scopes, ['read', 'upload']);
    assert.equal(created.user_id, carol.user.id);
    assert.equal(created.last_used_at, null);
    const res = await fetch(`${t.url}/api/v1/api-keys`, { headers: carol.auth });
    assert.equal(res.status, 200);
    const text = await res.text();
    assert.ok(!text.includes(created.key), 'the listing never shows the key');
    const listed = (JSON.parse(text) as { items: ApiKeyView[] }).items.find((k) => k.id === created.id);
    assert.ok(listed);
    assert.equal(listed.prefix, created.prefix);
    assert.equal(listed.name, 'laptop');
    assert.equal('key' in listed, false);
  });

  it('sets last_used_at once the key is used', async () => {
    const created = await createKey(t, carol.auth, ['read']);
    const used = await fetch(`${t.url}/api/v1/images`, { headers: bearer(created.key) });
    assert.equal(used.status, 200);
    const keys = ((await (await fetch(`${t.url}/api/v1/api-keys`, { headers: carol.auth })).json()) as { items: ApiKeyView[] }).items;
    const listed = keys.find((k) => k.id === created.id);
    assert.ok(listed?.last_used_at, 'last_used_at is set');
    assert.ok(Date.parse(listed.last_used_at) >= Date.parse(created.created_at));
  });

  it("lists only the caller's own keys", async () => {
    const mine = await createKey(t, dave.auth, ['read'], 'dave only');
    const carolsKeys = ((await (await fetch(`${t.url}/api/v1/api-keys`, { headers: carol.auth })).json()) as { items: ApiKeyView[] }).items;
    assert.ok(carolsKeys.every((k) => k.user_id === carol.user.id));
    assert.ok(!carolsKeys.some((k) => k.id === mine.id));
  });

  it('a read-only key reads but cannot upload (403) or delete (403)', async () => {
    const key = bearer((await createKey(t, carol.auth, ['read'])).key);
    const image = await uploadAs(t, carol.auth, { visibility: 'private' });
    assert.equal((await getImage(t, image.id, key)).status, 200);
    assert.equal((await fetch(image.url, { headers: key })).status, 200);
    const before = await t.stored();
    await expectProblem(await t.upload([SMALL], {}, key), 403, 'forbidden');
    assert.deepEqual(await t.stored(), before);
    await expectProblem(await deleteImage(t, image.id, key), 403, 'forbidden');
    await expectProblem(await patchImage(t, image.id, { description: 'nope' }, key), 403, 'forbidden');
    await stillThere(t, image, { description: null });
  });

  it("an upload key uploads as its user but cannot delete (403)", async () => {
    const key = bearer((await createKey(t, carol.auth, ['upload'])).key);
    const image = await uploadAs(t, key, { key: 'from/a/key' });
    assert.equal(image.owner_id, carol.user.id);
    assert.equal(image.key, 'from/a/key');
    assert.ok((await listIds(t, carol.auth)).includes(image.id));
    await expectProblem(await deleteImage(t, image.id, key), 403, 'forbidden');
    await stillThere(t, image);
  });

  it("a delete key deletes its user's images, public and private", async () => {
    const key = bearer((await createKey(t, carol.auth, ['delete'])).key);
    const publicImage = await uploadAs(t, carol.auth, { visibility: 'public' });
    const privateImage = await uploadAs(t, carol.auth, { visibility: 'private' }, MEDIUM);
    assert.equal((await deleteImage(t, publicImage.id, key)).status, 204);
    assert.equal((await deleteImage(t, privateImage.id, key)).status, 204);
    await expectProblem(await getImage(t, publicImage.id, t.auth), 404, 'not_found');
    await expectProblem(await getImage(t, privateImage.id, t.auth), 404, 'not_found');
  });

  it("a delete key cannot delete another user's image", async () => {
    const key = bearer((await createKey(t, carol.auth, ['delete'])).key);
    const davesPublic = await uploadAs(t, dave.auth, { visibility: 'public' });
    const davesPrivate = await uploadAs(t, dave.auth, { visibility: 'private' });
    await expectProblem(await deleteImage(t, davesPublic.id, key), 403, 'forbidden');
    await expectProblem(await deleteImage(t, davesPrivate.id, key), 404, 'not_found');
    await stillThere(t, davesPublic);
    await stillThere(t, davesPrivate);
  });

  it('refuses the admin scope to a non-admin (403) and keys wider than the credential making them (403)', async () => {
    await expectProblem(await fetch(`${t.url}/api/v1/api-keys`, json({ name: 'root', scopes: ['read', 'admin'] }, carol.auth)), 403, 'forbidden');
    const readOnly = bearer((await createKey(t, carol.auth, ['read'])).key);
    await expectProblem(await fetch(`${t.url}/api/v1/api-keys`, json({ name: 'wider', scopes: ['upload'] }, readOnly)), 403, 'forbidden');
    await expectProblem(await fetch(`${t.url}/api/v1/api-keys`, json({ name: 'unknown', scopes: ['everything'] }, carol.auth)), 400, 'validation_failed');
    await expectProblem(await fetch(`${t.url}/api/v1/api-keys`, json({ name: 'anon', scopes: ['read'] })), 401, 'unauthorized');
  });

  it('answers 401 at once for a revoked key, and no longer lists it', async () => {
    const created = await createKey(t, carol.auth, ['read', 'upload']);
    const key = bearer(created.key);
    assert.equal((await fetch(`${t.url}/api/v1/images`, { headers: key })).status, 200);
    const revoked = await fetch(`${t.url}/api/v1/api-keys/${created.id}`, { method: 'DELETE', headers: carol.auth });
    assert.equal(revoked.status, 204);
    await expectProblem(await fetch(`${t.url}/api/v1/images`, { headers: key }), 401, 'unauthorized');
    const before = await t.stored();
    await expectProblem(await t.upload([SMALL], {}, key), 401, 'unauthorized');
    assert.deepEqual(await t.stored(), before);
    const keys = ((await (await fetch(`${t.url}/api/v1/api-keys`, { headers: carol.auth })).json()) as { items: ApiKeyView[] }).items;
    assert.ok(!keys.some((k) => k.id === created.id));
    await expectProblem(await fetch(`${t.url}/api/v1/api-keys/${created.id}`, { method: 'DELETE', headers: carol.auth }), 404, 'not_found');
  });

  it("answers 404 to revoking another user's key, which keeps working", async () => {
    const daves = await createKey(t, dave.auth, ['read']);
    await expectProblem(await fetch(`${t.url}/api/v1/api-keys/${daves.id}`, { method: 'DELETE', headers: carol.auth }), 404, 'not_found');
    await expectProblem(await fetch(`${t.url}/api/v1/api-keys/no-such-key`, { method: 'DELETE', headers: carol.auth }), 404, 'not_found');
    assert.equal((await fetch(`${t.url}/api/v1/images`, { headers: bearer(daves.key) })).status, 200);
  });
});

describe('seed-003 HMAC upload tokens (ts.sig)', () => {
  let t: TestApp;
  before(async () => {
    t = await startApp({ ...OPEN, UPLOAD_TOKEN_SECRET: HMAC_SECRET });
  });
  after(() => t.close());

  it('uploads with a token made by Python as Authorization: Bearer; the image has no owner', async () => {
    const image = await uploadAs(t, bearer(pythonHmacToken(HMAC_SECRET)));
    assert.equal(image.owner_id, null);
  });

  it('uploads with the token in ?token= (multipart POST and raw PUT)', async () => {
    const token = encodeURIComponent(pythonHmacToken(HMAC_SECRET));
    const form = new FormData();
    form.append('file', new Blob([await readFile(SMALL)]), 'query.jpg');
    const res = await fetch(`${t.url}/api/v1/images?token=${token}`, { method: 'POST', body: form });
    assert.equal(res.status, 201, await res.clone().text());
    assert.equal(((await res.json()) as Image).owner_id, null);
    const put = await fetch(`${t.url}/api/v1/images?token=${token}&filename=raw.jpg`, { method: 'PUT', body: await readFile(SMALL) });
    assert.equal(put.status, 201, await put.clone().text());
  });

  it('accepts a token dated a little in the future, within TOKEN_CLOCK_SKEW_SECONDS', async () => {
    await uploadAs(t, bearer(pythonHmacToken(HMAC_SECRET, 10)));
  });

  const tamper = (token: string): string => {
    const last = token.at(-1) === '0' ? '1' : '0';
    return `${token.slice(0, -1)}${last}`;
  };

  for (const [what, make] of [
    ['an expired token (older than TOKEN_EXPIRY_SECONDS)', () => pythonHmacToken(HMAC_SECRET, -(900 + 60))],
    ['a token with a tampered signature', () => tamper(pythonHmacToken(HMAC_SECRET))],
    ['a token with a changed timestamp', () => pythonHmacToken(HMAC_SECRET).replace(/^\d+/, (ts) => String(Number(ts) - 1))],
    ['a token signed with another secret', () => pythonHmacToken('some-other-shared-secret')],
    ['a token from the future beyond TOKEN_CLOCK_SKEW_SECONDS', () => pythonHmacToken(HMAC_SECRET, 120)],
    ['the malformed token abc.def', () => 'abc.def'],
    ['the malformed token abc', () => 'abc'],
    ['a token whose signature is not hex', () => `${Math.floor(Date.now() / 1000)}.${'g'.repeat(64)}`],
    ['a token with a short signature', () => pythonHmacToken(HMAC_SECRET).slice(0, -2)],
    ['a token with a huge timestamp', () => `99999999999999999999.${'a'.repeat(64)}`],
  ] as const) {
    it(`refuses ${what} with 401, in the header and in ?token=, and stores nothing`, async () => {
      const token = make();
      const before = await t.stored();
      await expectProblem(await t.upload([SMALL], {}, bearer(token)), 401, 'unauthorized');
      const form = new FormData();
      form.append('file', new Blob([await readFile(SMALL)]), 'q.jpg');
      await expectProblem(await fetch(`${t.url}/api/v1/images?token=${encodeURIComponent(token)}`, { method: 'POST', body: form }), 401, 'unauthorized');
      assert.deepEqual(await t.stored(), before);
    });
  }

  it('cannot list, read, change or delete images through the API (403 forbidden)', async () => {
    const token = pythonHmacToken(HMAC_SECRET);
    const image = await uploadAs(t, bearer(token));
    await expectProblem(await fetch(`${t.url}/api/v1/images`, { headers: bearer(token) }), 403, 'forbidden');
    await expectProblem(await fetch(`${t.url}/api/v1/images?token=${token}`), 403, 'forbidden');
    await expectProblem(await getImage(t, image.id, bearer(token)), 403, 'forbidden');
    await expectProblem(await patchImage(t, image.id, { description: 'x' }, bearer(token)), 403, 'forbidden');
    await expectProblem(await deleteImage(t, image.id, bearer(token)), 403, 'forbidden');
    await stillThere(t, image);
  });

  it('refuses the admin token, a session or an API key in ?token= (401) and stores nothing', async () => {
    const user = await signUp(t, 'urluser');
    const key = await createKey(t, user.auth, ['read', 'upload']);
    for (const token of [TOKEN, user.token, key.key]) {
      const before = await t.stored();
      const form = new FormData();
      form.append('file', new Blob([await readFile(SMALL)]), 'q.jpg');
      await expectProblem(await fetch(`${t.url}/api/v1/images?token=${encodeURIComponent(token)}`, { method: 'POST', body: form }), 401, 'unauthorized');
      await expectProblem(await fetch(`${t.url}/api/v1/images?token=${encodeURIComponent(token)}`), 401, 'unauthorized');
      assert.deepEqual(await t.stored(), before);
    }
  });
});

describe('seed-003 HMAC upload tokens under the MEDIA_SERVER_SECRET alias', () => {
  let t: TestApp;
  before(async () => {
    t = await startApp({ MEDIA_SERVER_SECRET: HMAC_SECRET });
  });
  after(() => t.close());

  it('uploads with a token signed with MEDIA_SERVER_SECRET, in the header and in ?token=', async () => {
    assert.equal((await uploadAs(t, bearer(pythonHmacToken(HMAC_SECRET)))).owner_id, null);
    const form = new FormData();
    form.append('file', new Blob([await readFile(SMALL)]), 'alias.jpg');
    const res = await fetch(`${t.url}/api/v1/images?token=${pythonHmacToken(HMAC_SECRET)}`, { method: 'POST', body: form });
    assert.equal(res.status, 201, await res.clone().text());
  });

  it('refuses a token signed with another secret (401) and stores nothing', async () => {
    const before = await t.stored();
    await expectProblem(await t.upload([SMALL], {}, bearer(pythonHmacToken('some-other-shared-secret'))), 401, 'unauthorized');
    assert.deepEqual(await t.stored(), before);
  });
});

describe('seed-003 HMAC upload tokens without a secret configured', () => {
  let t: TestApp;
  before(async () => {
    t = await startApp();
  });
  after(() => t.close());

  it('refuses every ts.sig token (401) and stores nothing', async () => {
    const before = await t.stored();
    await expectProblem(await t.upload([SMALL], {}, bearer(pythonHmacToken(HMAC_SECRET))), 401, 'unauthorized');
    assert.deepEqual(await t.stored(), before);
  });
});

describe('seed-003 HMAC upload tokens with UPLOAD_TOKEN_OWNER', () => {
  let t: TestApp;
  let owner: Session;
  before(async () => {
    t = await startApp({ ...OPEN, UPLOAD_TOKEN_SECRET: HMAC_SECRET, UPLOAD_TOKEN_OWNER: 'uploader' });
    owner = await signUp(t, 'uploader');
  });
  after(() => t.close());

  it('gives the uploads to that user, who then lists and serves them', async () => {
    const image = await uploadAs(t, bearer(pythonHmacToken(HMAC_SECRET)), { visibility: 'private' });
    assert.equal(image.owner_id, owner.user.id);
    assert.deepEqual(await listIds(t, owner.auth), [image.id]);
    assert.equal((await fetch(image.url, { headers: owner.auth })).status, 200);
    await expectProblem(await fetch(image.url), 404, 'not_found');
  });
});

describe('minted upload tokens', () => {
  let t: TestApp;
  let erin: Session;

  before(async () => {
    t = await startApp(OPEN);
    erin = await signUp(t, 'erin');
  });
  after(() => t.close());

  interface Minted {
    id: string;
    token: string;
    key: string | null;
    max_bytes: number | null;
    single_use: boolean;
    expires_at: string;
  }

  async function mint(auth: Record<string, string>, body: Record<string, unknown>): Promise<Minted> {
    const res = await fetch(`${t.url}/api/v1/upload-tokens`, json(body, auth));
    assert.equal(res.status, 201, await res.clone().text());
    return (await res.json()) as Minted;
  }

  it("lands an upload in the token's key, as the user who minted it", async () => {
    const minted = await mint(erin.auth, { key: 'avatars/erin', expires_in: 600 });
    assert.match(minted.token, /^imgd_u_/);
    assert.equal(minted.key, 'avatars/erin');
    assert.equal(minted.single_use, false);
    const image = await uploadAs(t, bearer(minted.token));
    assert.equal(image.key, 'avatars/erin');
    assert.equal(image.owner_id, erin.user.id);
    const same = await uploadAs(t, bearer(minted.token), { key: 'avatars/erin' }, MEDIUM);
    assert.equal(same.key, 'avatars/erin');
  });

  it('refuses an upload into another key with 403 and stores nothing', async () => {
    const minted = await mint(erin.auth, { key: 'avatars/erin', expires_in: 600 });
    const before = await t.stored();
    const problem = await expectProblem(await t.upload([SMALL], { key: 'avatars/mallory' }, bearer(minted.token)), 403, 'forbidden');
    assert.equal(problem.key, 'avatars/erin');
    const put = await fetch(`${t.url}/api/v1/images?key=elsewhere&filename=x.jpg`, { method: 'PUT', body: await readFile(SMALL), headers: bearer(minted.token) });
    await expectProblem(put, 403, 'forbidden');
    assert.deepEqual(await t.stored(), before);
  });

  it('refuses a file over max_bytes with 413 file_too_large and stores nothing, and takes one under it', async () => {
    const minted = await mint(erin.auth, { max_bytes: 10_000, expires_in: 600 });
    const before = await t.stored();
    await expectProblem(await t.upload([MEDIUM], {}, bearer(minted.token)), 413, 'file_too_large');
    const put = await fetch(`${t.url}/api/v1/images?filename=big.jpg`, { method: 'PUT', body: await readFile(MEDIUM), headers: bearer(minted.token) });
    await expectProblem(put, 413, 'file_too_large');
    assert.deepEqual(await t.stored(), before);
    await uploadAs(t, bearer(minted.token), {}, SMALL);
  });

  it('refuses an expired token with 401 and stores nothing', async () => {
    const minted = await mint(erin.auth, { expires_in: 1 });
    await delay(1200);
    const before = await t.stored();
    await expectProblem(await t.upload([SMALL], {}, bearer(minted.token)), 401, 'unauthorized');
    assert.deepEqual(await t.stored(), before);
  });

  it('takes a single-use token once: the second request answers 401 and stores nothing', async () => {
    const minted = await mint(erin.auth, { single_use: true, expires_in: 600 });
    assert.equal(minted.single_use, true);
    await uploadAs(t, bearer(minted.token));
    const before = await t.stored();
    await expectProblem(await t.upload([SMALL], {}, bearer(minted.token)), 401, 'unauthorized');
    const put = await fetch(`${t.url}/api/v1/images?filename=again.jpg`, { method: 'PUT', body: await readFile(SMALL), headers: bearer(minted.token) });
    await expectProblem(put, 401, 'unauthorized');
    assert.deepEqual(await t.stored(), before);
  });

  it('uploads with a minted token in ?token=', async () => {
    const minted = await mint(erin.auth, { key: 'by/query', expires_in: 600 });
    const form = new FormData();
    form.append('file', new Blob([await readFile(SMALL)]), 'q.jpg');
    const res = await fetch(`${t.url}/api/v1/images?token=${minted.token}`, { method: 'POST', body: form });
    assert.equal(res.status, 201, await res.clone().text());
    assert.equal(((await res.json()) as Image).key, 'by/query');
  });

  it('mints tokens for the admin token too; their uploads have no owner', async () => {
    const minted = await mint(t.auth, { key: 'admin/drop', expires_in: 600 });
    const image = await uploadAs(t, bearer(minted.token));
    assert.equal(image.owner_id, null);
    assert.equal(image.key, 'admin/drop');
  });

  it('cannot read the API, nor mint further tokens (403)', async () => {
    const minted = await mint(erin.auth, { expires_in: 600 });
    await expectProblem(await fetch(`${t.url}/api/v1/images`, { headers: bearer(minted.token) }), 403, 'forbidden');
    await expectProblem(await fetch(`${t.url}/api/v1/upload-tokens`, json({ expires_in: 60 }, bearer(minted.token))), 403, 'forbidden');
  });

  it('refuses to mint for a read-only key (403), anonymous callers (401) and bad limits (400)', async () => {
    const readOnly = bearer((await createKey(t, erin.auth, ['read'])).key);
    await expectProblem(await fetch(`${t.url}/api/v1/upload-tokens`, json({ expires_in: 60 }, readOnly)), 403, 'forbidden');
    await expectProblem(await fetch(`${t.url}/api/v1/upload-tokens`, json({ expires_in: 60 })), 401, 'unauthorized');
    await expectProblem(await fetch(`${t.url}/api/v1/upload-tokens`, json({ expires_in: 0 }, erin.auth)), 400, 'validation_failed');
    await expectProblem(await fetch(`${t.url}/api/v1/upload-tokens`, json({ expires_in: 60, key: '../escape' }, erin.auth)), 400, 'validation_failed');
  });

  it('mints with `imgd token --minted` a bound, single-use token the running app accepts', async () => {
    const out = await runCli(['token', '--minted', '--key', 'cli/box', '--max-bytes', '10000', '--single-use', '--expires-in', '600'], {
      ...t.settings,
      DATA_DIR: t.dataDir,
      AUTH_TOKEN: TOKEN,
    });
    assert.equal(out.code, 0, out.stderr);
    const token = out.stdout.trim();
    assert.match(token, /^imgd_u_[\w-]+$/);
    const before = await t.stored();
    await expectProblem(await t.upload([MEDIUM], {}, bearer(token)), 413, 'file_too_large');
    assert.deepEqual(await t.stored(), before);
    // The refused upload spent the single use (the grant is taken before the body is read).
    const second = await mint(t.auth, { key: 'cli/box', expires_in: 600 });
    assert.equal((await uploadAs(t, bearer(second.token))).key, 'cli/box');
  });

  it('mints with `imgd token --minted` a token that uploads once into its key', async () => {
    const out = await runCli(['token', '--minted', '--key', 'cli/once', '--single-use'], { ...t.settings, DATA_DIR: t.dataDir, AUTH_TOKEN: TOKEN });
    assert.equal(out.code, 0, out.stderr);
    const token = out.stdout.trim();
    const image = await uploadAs(t, bearer(token));
    assert.equal(image.key, 'cli/once');
    assert.equal(image.owner_id, null);
    const before = await t.stored();
    await expectProblem(await t.upload([SMALL], {}, bearer(token)), 401, 'unauthorized');
    assert.deepEqual(await t.stored(), before);
  });
});

describe('share links', () => {
  let t: TestApp;
  let fay: Session;
  let photo: Image;
  let other: Image;
  let bytes: Buffer;

  before(async () => {
    t = await startApp({ ...OPEN, SHARE_MAX_SECONDS: '600' });
    fay = await signUp(t, 'fay');
    photo = await uploadAs(t, fay.auth, { visibility: 'private' }, SMALL);
    other = await uploadAs(t, fay.auth, { visibility: 'private' }, MEDIUM);
    bytes = await readFile(SMALL);
  });
  after(() => t.close());

  async function link(id: string, expiresIn: number): Promise<URL> {
    const res = await share(t, id, { expires_in: expiresIn }, fay.auth);
    assert.equal(res.status, 200, await res.clone().text());
    const body = (await res.json()) as { url: string; expires_at: string };
    assert.ok(Math.abs(Date.parse(body.expires_at) - (Date.now() + expiresIn * 1000)) < 5_000);
    return new URL(body.url);
  }

  it('serves a private image to a client with no credential', async () => {
    const url = await link(photo.id, 300);
    assert.equal(url.pathname, new URL(photo.url).pathname);
    const res = await fetch(url);
    assert.equal(res.status, 200);
    assert.deepEqual(Buffer.from(await res.arrayBuffer()), bytes);
    assert.match(res.headers.get('cache-control') ?? '', /private/);
    await expectProblem(await fetch(photo.url), 404, 'not_found');
  });

  it('answers 404 to a tampered signature, a changed expiry, or a missing part', async () => {
    const url = await link(photo.id, 300);
    const sig = url.searchParams.get('sig')!;
    const expires = url.searchParams.get('expires')!;
    const variants: Array<[string, string]> = [
      ['sig', `${sig.slice(0, -1)}${sig.endsWith('A') ? 'B' : 'A'}`],
      ['expires', String(Number(expires) + 60)],
      ['expires', ''],
      ['sig', ''],
    ];
    for (const [name, value] of variants) {
      const forged = new URL(url);
      forged.searchParams.set(name, value);
      await expectProblem(await fetch(forged), 404, 'not_found');
    }
    const noSig = new URL(url);
    noSig.searchParams.delete('sig');
    await expectProblem(await fetch(noSig), 404, 'not_found');
  });

  it("answers 404 to a link's signature put on another image's URL", async () => {
    const url = await link(photo.id, 300);
    const moved = new URL(url);
    moved.pathname = new URL(other.url).pathname;
    await expectProblem(await fetch(moved), 404, 'not_found');
  });

  it('answers 404 once the link has expired', async () => {
    const url = await link(photo.id, 1);
    await delay(2200);
    await expectProblem(await fetch(url), 404, 'not_found');
  });

  it('refuses expires_in over SHARE_MAX_SECONDS with 400 validation_failed', async () => {
    const problem = await expectProblem(await share(t, photo.id, { expires_in: 601 }, fay.auth), 400, 'validation_failed');
    assert.equal(problem.field, 'expires_in');
    await expectProblem(await share(t, photo.id, { expires_in: 0 }, fay.auth), 400, 'validation_failed');
    await link(photo.id, 600);
  });

  it('answers 401 to an anonymous request for a share link', async () => {
    await expectProblem(await share(t, photo.id, { expires_in: 60 }, {}), 401, 'unauthorized');
  });
});
