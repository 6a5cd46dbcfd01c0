// `imgd export` / `imgd import`: a whole deployment moved as one archive, SQLite to SQLite and SQLite to PostgreSQL; damaged archives refused whole.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readdir, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { extract, pack } from 'tar-stream';
import { bearer, createKey, login, signUp } from '../helpers/accounts.js';
import { fixture, makeDataDir, startApp, type TestApp } from '../helpers/app.js';
import { runCli } from '../helpers/processes.js';
import { createDatabase, postgresMissing } from '../helpers/scale.js';
import { S3RVER_KEY, startS3rver } from '../helpers/s3rver.js';
import type { Image } from '../helpers/images.js';

const PHOTOS = ['jpg/Canon_40D.jpg', 'jpg/Nikon_D70.jpg', 'tiff/Arbitro.tiff'].map(fixture);
const OPEN = { REGISTRATION: 'open', RATE_LIMIT_LOGIN: '0', RATE_LIMIT_REGISTER: '0', RATE_LIMIT_UPLOAD: '0' };

/** An embedded deployment (SQLite in the data dir, blobs on its disk), whatever test profile runs. */
const embedded = (dir: string): Record<string, string> => ({ DATA_DIR: dir, DATABASE_URL: path.join(dir, 'imgd.sqlite'), STORAGE: 'fs' });

async function files(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
  return entries.filter((e) => e.isFile()).map((e) => e.name);
}

describe('imgd export and import', () => {
  const dirs: string[] = [];
  let source: string;
  let archive: string;
  let images: Image[];
  let apiKey: string;
  /** A session token alice got from the source deployment. */
  let session: string;
  /** URL path -> bytes the source served. */
  const served = new Map<string, Buffer>();

  const newDir = async (): Promise<string> => {
    const dir = await makeDataDir();
    dirs.push(dir);
    return dir;
  };

  const pathOf = (url: string): string => new URL(url).pathname;

  before(async () => {
    source = await newDir();
    const t = await startApp({ ...OPEN, ...embedded(source) }, source);
    const alice = await signUp(t, 'alice');
    await signUp(t, 'bob');
    apiKey = (await createKey(t, alice.auth, ['read', 'upload'], 'laptop')).key;
    session = alice.token;
    images = [];
    for (const [i, photo] of PHOTOS.entries()) {
      const res = await t.upload([photo], {}, i === 0 ? bearer(apiKey) : t.auth);
      assert.equal(res.status, 201, await res.clone().text());
      images.push((await res.json()) as Image);
    }
    await t.stored();
    for (const image of images) {
      for (const url of [image.url, image.variants.small!]) {
        const res = await fetch(url);
        assert.equal(res.status, 200);
        served.set(pathOf(url), Buffer.from(await res.arrayBuffer()));
      }
    }
    await t.close();
    archive = path.join(await newDir(), 'deployment.tar');
    const run = await runCli(['export', archive], embedded(source));
    assert.equal(run.code, 0, run.stderr);
    for (const part of [/^exported .*\b3 images\b/m, /\b2 users\b/, /; 3 original\(s\) and \d+ variant\(s\)/]) assert.match(run.stdout, part);
  });
  after(() => Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true }))));

  /** The imported deployment serves the same images under the same ids, and its users and keys still work. */
  async function assertSameDeployment(t: TestApp): Promise<void> {
    const list = (await (await fetch(`${t.url}/api/v1/images?limit=100`, { headers: t.auth })).json()) as { items: Image[] };
    assert.deepEqual(list.items.map((i) => i.id).sort(), images.map((i) => i.id).sort(), 'same ids');
    for (const [urlPath, bytes] of served) {
      const res = await fetch(`${t.url}${urlPath}`);
      assert.equal(res.status, 200, urlPath);
      assert.ok(Buffer.from(await res.arrayBuffer()).equals(bytes), `${urlPath} is byte-identical`);
    }
    await login(t, 'alice');
    await login(t, 'bob');
    const me = await fetch(`${t.url}/api/v1/auth/me`, { headers: bearer(apiKey) });
    assert.equal(me.status, 200);
    const who = (await me.json()) as { username: string; credential: string };
    assert.deepEqual([who.username, who.credential], ['alice', 'api_key']);
    // The generated signing key came along: a session from the old deployment is still good.
    const still = await fetch(`${t.url}/api/v1/auth/me`, { headers: bearer(session) });
    assert.equal(still.status, 200, 'alice stays signed in');
  }

  it('moves everything into a fresh data dir: same ids, same bytes, users sign in, keys work', async () => {
    const target = await newDir();
    const run = await runCli(['import', archive], embedded(target));
    assert.equal(run.code, 0, run.stderr);
    for (const part of [/\b3 images\b/, /\b2 users\b/, /\b1 api_keys\b/, /and \d+ blob\(s\)/, /signing key came along/]) assert.match(run.stdout, part);
    const t = await startApp({ ...OPEN, ...embedded(target) }, target);
    try {
      await assertSameDeployment(t);
    } finally {
      await t.close();
    }

    // A second import into the same, now full, deployment is refused and changes nothing (`restore` is the same).
    const again = await runCli(['restore', archive], embedded(target));
    assert.equal(again.code, 1);
    assert.match(again.stderr, /not empty \(.*3 images.*\).*nothing was restored/);
  });

  it('moves everything from SQLite and disk into PostgreSQL and S3, and from there back again', async (context) => {
    const missing = await postgresMissing();
    if (missing) return context.skip(missing);
    const database = await createDatabase();
    const s3 = await startS3rver(['imgd-import']);
    try {
      const target = await newDir();
      const scaled = {
        DATA_DIR: target,
        DATABASE_URL: database.url,
        STORAGE: 's3',
        S3_BUCKET: 'imgd-import',
        S3_ENDPOINT: s3.endpoint,
        S3_ACCESS_KEY_ID: S3RVER_KEY,
        S3_SECRET_ACCESS_KEY: S3RVER_KEY,
        S3_FORCE_PATH_STYLE: 'true',
      };
      const run = await runCli(['import', archive], scaled);
      assert.equal(run.code, 0, run.stderr);
      assert.match(run.stdout, /into S3 \(s3:\/\/imgd-import\//);
      const t = await startApp({ ...OPEN, ...scaled }, target);
      try {
        await assertSameDeployment(t);
      } finally {
        await t.close();
      }

      const back = path.join(await newDir(), 'from-postgres.tar');
      const exported = await runCli(['export', back], scaled);
      assert.equal(exported.code, 0, exported.stderr);
      assert.match(exported.stdout, /exporting PostgreSQL metadata and blobs from S3/);
      const home = await newDir();
      const imported = await runCli(['import', back], embedded(home));
      assert.equal(imported.code, 0, imported.stderr);
      const again = await startApp({ ...OPEN, ...embedded(home) }, home);
      try {
        await assertSameDeployment(again);
      } finally {
        await again.close();
      }
    } finally {
      await s3.close();
      await database.drop();
    }
  });

  /** Imports a damaged archive into a fresh deployment: refused, with no row and no blob left behind. */
  async function assertRefused(damaged: string, message: RegExp): Promise<void> {
    const target = await newDir();
    const run = await runCli(['restore', damaged], embedded(target));
    assert.equal(run.code, 1, run.stdout);
    assert.match(run.stderr, message);
    assert.match(run.stderr, /nothing was restored/);
    assert.deepEqual(await files(path.join(target, 'blobs', 'originals')), [], 'no original left behind');
    assert.deepEqual(await files(path.join(target, 'blobs', 'variants')), [], 'no variant left behind');
    const users = await runCli(['user', 'list'], embedded(target));
    assert.equal(users.code, 0, users.stderr);
    assert.equal(users.stdout.trim(), '', 'no user row');
  }

  it('refuses an archive cut short, keeping nothing', async () => {
    const cut = path.join(path.dirname(archive), 'cut.tar');
    await writeFile(cut, await readFile(archive));
    const size = (await readFile(cut)).length;
    await truncate(cut, Math.floor(size * 0.8));
    await assertRefused(cut, /cut short|damaged/);
  });

  it('refuses an archive whose original bytes were altered, keeping nothing', async () => {
    const bytes = await readFile(archive);
    const original = await readFile(PHOTOS[2]!);
    const at = bytes.indexOf(original.subarray(4096, 4160));
    assert.ok(at > 0, 'the original is in the archive');
    bytes[at + 10]! ^= 0xff;
    const altered = path.join(path.dirname(archive), 'altered.tar');
    await writeFile(altered, bytes);
    await assertRefused(altered, /content hashes to [0-9a-f]{64}, not to its name/);
  });

  it('refuses a file that is no imgd archive, and a missing file', async () => {
    const text = path.join(path.dirname(archive), 'notes.txt');
    await writeFile(text, 'these are notes, not an archive\n'.repeat(100));
    await assertRefused(text, /not an imgd export archive|damaged/);
    for (const command of ['restore', 'import']) {
      const nowhere = await newDir();
      const missing = await runCli([command, path.join(path.dirname(archive), 'nope.tar')], embedded(nowhere));
      assert.equal(missing.code, 1);
      assert.match(missing.stderr, /^imgd (restore|import): \S+nope\.tar: no such file or folder(; nothing was restored)?\n$/);
      assert.deepEqual(await readdir(nowhere), [], 'no database created');
    }
  });

  /** The archive as an imgd before URL keys (migration 006) wrote it: no url_key in the images rows. */
  async function olderArchive(): Promise<string> {
    const out = pack();
    const written: Buffer[] = [];
    out.on('data', (chunk) => written.push(chunk as Buffer));
    const finished = new Promise<void>((resolve) => out.on('end', () => resolve()));
    let imagesSha = '';
    for await (const entry of createReadStream(archive).pipe(extract())) {
      const chunks: Buffer[] = [];
      for await (const chunk of entry) chunks.push(chunk as Buffer);
      let body = Buffer.concat(chunks);
      const { name } = entry.header;
      if (name === 'imgd-export.json') {
        const header = JSON.parse(body.toString()) as { migrations: string[] };
        body = Buffer.from(JSON.stringify({ ...header, migrations: header.migrations.filter((m) => m !== '006_url_keys') }));
      } else if (name === 'tables/images.ndjson') {
        const rows = body.toString().split('\n').filter(Boolean).map((line) => JSON.parse(line) as Record<string, unknown>);
        body = Buffer.from(rows.map(({ url_key: _dropped, ...row }) => `${JSON.stringify(row)}\n`).join(''));
        imagesSha = createHash('sha256').update(body).digest('hex');
      } else if (name === 'imgd-export-end.json') {
        const trailer = JSON.parse(body.toString()) as { tables: Record<string, { rows: number; sha256: string }> };
        trailer.tables.images = { ...trailer.tables.images!, sha256: imagesSha };
        body = Buffer.from(JSON.stringify(trailer));
      }
      out.entry({ name, mode: 0o600 }, body);
    }
    out.finalize();
    await finished;
    const older = path.join(path.dirname(archive), 'older.tar');
    await writeFile(older, Buffer.concat(written));
    return older;
  }

  it('gives each image of an archive from before URL keys a key of its own, served at its keyed URL', async () => {
    const target = await newDir();
    const run = await runCli(['import', await olderArchive()], embedded(target));
    assert.equal(run.code, 0, run.stderr);
    const t = await startApp({ ...OPEN, ...embedded(target) }, target);
    try {
      const list = (await (await fetch(`${t.url}/api/v1/images?limit=100`, { headers: t.auth })).json()) as { items: Image[] };
      assert.equal(list.items.length, images.length);
      const keys = list.items.map((image) => new URL(image.url).pathname.split('/')[2]);
      for (const key of keys) assert.match(key ?? '', /^[A-Za-z0-9_-]{16}$/);
      assert.equal(new Set(keys).size, keys.length, 'one key each');
      for (const image of list.items) {
        const old = images.find((i) => i.id === image.id)!;
        assert.notEqual(image.url, old.url, 'a new key: the archive had none');
        const res = await fetch(image.url);
        assert.equal(res.status, 200, image.url);
        assert.ok(Buffer.from(await res.arrayBuffer()).equals(served.get(pathOf(old.url))!), `${image.filename} is byte-identical`);
      }
    } finally {
      await t.close();
    }
  });

  it('leaves no archive behind when the export cannot finish', async () => {
    const original = path.join(source, 'blobs', 'originals', images[1]!.sha256.slice(0, 2), images[1]!.sha256.slice(2, 4), images[1]!.sha256);
    const kept = await readFile(original);
    await rm(original);
    try {
      const out = path.join(path.dirname(archive), 'broken.tar');
      const run = await runCli(['export', out], embedded(source));
      assert.equal(run.code, 1, run.stdout);
      assert.match(run.stderr, new RegExp(`No blob originals/.*${images[1]!.sha256}.*no archive was written`));
      assert.deepEqual((await readdir(path.dirname(out))).filter((f) => f.startsWith('broken')), []);
    } finally {
      await writeFile(original, kept);
    }
  });
});
