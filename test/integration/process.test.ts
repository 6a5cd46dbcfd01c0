// The real CLI as a child process: first start, restarts, crashes mid-upload, gc, graceful shutdown, migrate, bad settings.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { openAsBlob } from 'node:fs';
import { mkdir, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { fixture, makeDataDir } from '../helpers/app.js';
import { EXIT_TIMEOUT_MS, runCli, startServer as startCli, within, type Server } from '../helpers/processes.js';
import { SCALE } from '../helpers/scale.js';
import { waitFor } from '../helpers/wait.js';
import type { Image } from '../helpers/images.js';

const TOKEN = 'process-test-admin-token-0123456789';
const dataDirs: string[] = [];

after(() => Promise.all(dataDirs.map((dir) => rm(dir, { recursive: true, force: true }))));

const startServer = (dataDir: string, settings: Record<string, string> = { AUTH_TOKEN: TOKEN }, terminal = false): Promise<Server> =>
  startCli(dataDir, settings, terminal);

async function tempDataDir(): Promise<string> {
  const dir = await makeDataDir();
  dataDirs.push(dir);
  return dir;
}

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

async function listImages(server: Server, token = TOKEN): Promise<Image[]> {
  const res = await fetch(`${server.url}/api/v1/images?limit=100`, { headers: bearer(token) });
  assert.equal(res.status, 200, await res.clone().text());
  return ((await res.json()) as { items: Image[] }).items;
}

async function fetchBytes(url: string): Promise<{ status: number; bytes: Buffer }> {
  const res = await fetch(url);
  return { status: res.status, bytes: Buffer.from(await res.arrayBuffer()) };
}

async function putImage(server: Server, file: string, filename: string): Promise<Image> {
  const res = await fetch(`${server.url}/api/v1/images?filename=${encodeURIComponent(filename)}`, {
    method: 'PUT',
    body: await readFile(file),
    headers: { ...bearer(TOKEN), 'content-type': 'application/octet-stream' },
  });
  assert.equal(res.status, 201, await res.clone().text());
  return (await res.json()) as Image;
}

/** Names of the staged uploads under <DATA_DIR>/tmp. */
async function stagedFiles(dataDir: string): Promise<string[]> {
  return (await readdir(path.join(dataDir, 'tmp')).catch(() => [] as string[])).filter((name) => name.endsWith('.part'));
}

/** Every file under a folder, as paths relative to it. */
async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
  return entries.filter((e) => e.isFile()).map((e) => path.relative(dir, path.join(e.parentPath, e.name)));
}

/** Whether a TCP connection to the port is accepted right now. */
function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host: '127.0.0.1' });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** A raw PUT upload whose body the test sends piece by piece. */
function openUpload(server: Server, filename: string, contentLength: number): { request: http.ClientRequest; response: Promise<{ status: number; body: string }> } {
  const request = http.request(`${server.url}/api/v1/images?filename=${encodeURIComponent(filename)}`, {
    method: 'PUT',
    headers: { ...bearer(TOKEN), 'content-type': 'application/octet-stream', 'content-length': String(contentLength) },
  });
  const response = new Promise<{ status: number; body: string }>((resolve, reject) => {
    request.on('error', reject);
    request.once('response', (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
      res.once('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.once('error', reject);
    });
  });
  return { request, response };
}

const writeChunk = (request: http.ClientRequest, chunk: Uint8Array): Promise<void> =>
  new Promise((resolve, reject) => request.write(chunk, (err) => (err ? reject(err) : resolve())));

// Embedded only: these are about one process on its own data dir (SQLite, blobs and staged files on disk, SIGKILL
// mid-upload on disk); processes on PostgreSQL, Redis and S3 are scale-out.test.ts's subject.
describe('imgd as a process', { skip: SCALE && 'embedded profile only (scale-out.test.ts runs the processes on the shared services)' }, () => {
  it('generates the admin token on first start, shows it once at a terminal, never in a log, and keeps accepting it after a restart', async () => {
    const dir = await tempDataDir();
    const first = await startServer(dir, {}, true);
    const file = path.join(dir, 'auth_token');
    const info = await stat(file);
    assert.equal(info.mode & 0o777, 0o600, 'the token file is readable by its owner only');
    const token = (await readFile(file, 'utf8')).trim();
    assert.ok(token.length >= 32, 'a long random token');
    assert.equal(first.stdout().split(token).length - 1, 1, 'the token is shown exactly once');
    assert.ok(!first.stderr().includes(token), 'and never on stderr');
    assert.match(first.stdout(), /upload {5}curl -H "Authorization: Bearer \$\(cat .*auth_token\)"/);
    await first.stop();
    await first.exited;
    await rm(file);

    // Under a service manager or in a container stdout is a log: one JSON line, and the new token stays in its file.
    const logged = await startServer(dir, {});
    const generated = (await readFile(file, 'utf8')).trim();
    assert.notEqual(generated, token);
    assert.ok(!logged.stdout().includes(generated) && !logged.stderr().includes(generated), 'a generated token is never logged');
    const start = JSON.parse(logged.stdout().split('\n').find((l) => l.includes('imgd is listening on'))!) as Record<string, unknown>;
    assert.equal(start.url, logged.url);
    assert.equal(start.admin_token, `generated and saved to ${file} (mode 600); it is not logged: read it there`);
    assert.deepEqual(await logged.stop(), { code: 0, signal: null });
    await writeFile(file, `${token}\n`, { mode: 0o600 });

    // A restart with the token file in place: the token is accepted, not shown again, and the file left as it was.
    const second = await startServer(dir, {});
    const ok = await fetch(`${second.url}/api/v1/images`, { headers: bearer(token) });
    assert.equal(ok.status, 200);
    const wrong = await fetch(`${second.url}/api/v1/images`, { headers: bearer(`${token}x`) });
    assert.equal(wrong.status, 401);
    assert.ok(!second.stdout().includes(token), 'a restart does not print the token again');
    assert.match(second.stdout(), new RegExp(`"admin_token":"in ${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}"`));
    assert.equal((await readFile(file, 'utf8')).trim(), token, 'the file is left as it was');
    assert.equal((await stat(file)).mode & 0o777, 0o600);
    const again = await fetch(`${second.url}/api/v1/images`, { headers: bearer(token) });
    assert.equal(again.status, 200);
    assert.deepEqual(await second.stop(), { code: 0, signal: null });
  });

  it('keeps every image across a restart, byte for byte', async () => {
    const dir = await tempDataDir();
    const files = [fixture('jpg/orientation/landscape_2.jpg'), fixture('jpg/Canon_40D.jpg'), fixture('tiff/Arbitro.tiff'), fixture('jpg/orientation/portrait_6.jpg')];
    const server = await startServer(dir);
    const uploaded = new Map<string, Buffer>();
    const put = await putImage(server, files[0]!, 'bridge.jpg');
    uploaded.set(put.filename, await readFile(files[0]!));
    const form = new FormData();
    for (const file of files.slice(1)) form.append('file', await openAsBlob(file), path.basename(file));
    const res = await fetch(`${server.url}/api/v1/images`, { method: 'POST', body: form, headers: bearer(TOKEN) });
    assert.equal(res.status, 201, await res.clone().text());
    const batch = (await res.json()) as { items: Image[]; errors: unknown[] };
    assert.deepEqual(batch.errors, []);
    for (const [i, item] of batch.items.entries()) uploaded.set(item.filename, await readFile(files[i + 1]!));

    const before = await listImages(server);
    assert.deepEqual(before.map((i) => i.filename).sort(), [...uploaded.keys()].sort());
    assert.deepEqual(await server.stop(), { code: 0, signal: null });

    const restarted = await startServer(dir);
    const listed = await listImages(restarted);
    const pathOf = (url: string): string => new URL(url).pathname;
    assert.deepEqual(
      listed.map((i) => [i.id, i.filename, i.sha256, pathOf(i.url)]).sort(),
      before.map((i) => [i.id, i.filename, i.sha256, pathOf(i.url)]).sort(),
      'the same images, with the same ids and URLs',
    );
    for (const image of listed) {
      const served = await fetchBytes(image.url);
      assert.equal(served.status, 200, image.url);
      assert.ok(served.bytes.equals(uploaded.get(image.filename)!), `${image.filename} is served byte-identical`);
    }
    assert.deepEqual(await restarted.stop(), { code: 0, signal: null });
  });

  it('leaves no visible image when killed mid-upload, and gc removes the staged file and unreferenced blobs only', async () => {
    const dir = await tempDataDir();
    const server = await startServer(dir);
    const photo = await readFile(fixture('jpg/gps/DSCN0010.jpg'));
    // A real JPEG head, so the server keeps the bytes it stages, and a declared length far beyond what is sent.
    const upload = openUpload(server, 'x.jpg', 16 * 1024 * 1024);
    upload.response.catch(() => undefined); // the connection dies with the server
    await writeChunk(upload.request, photo);
    await writeChunk(upload.request, Buffer.alloc(256 * 1024, 0x55));
    const [staged] = await waitFor('a staged upload with bytes in it', async () => {
      const names = await stagedFiles(dir);
      for (const name of names) if ((await stat(path.join(dir, 'tmp', name))).size > 0) return names;
      return undefined;
    });
    assert.ok(staged);
    assert.deepEqual(await server.stop('SIGKILL'), { code: null, signal: 'SIGKILL' });
    upload.request.destroy();

    // Name-only URLs, so that the name the upload would have had is a URL to ask for.
    const restarted = await startServer(dir, { AUTH_TOKEN: TOKEN, IMAGE_URLS: 'name' });
    assert.deepEqual(await listImages(restarted), [], 'no image row for the cut-off upload');
    assert.equal((await fetchBytes(`${restarted.url}/i/x.jpg`)).status, 404, 'nothing is served under its name');
    assert.deepEqual(await filesUnder(path.join(dir, 'blobs', 'originals')), [], 'no stored bytes');
    assert.deepEqual(await stagedFiles(dir), [staged], 'the staged temp file is still there');

    // An image that must survive gc, then a blob nothing refers to.
    const kept = await putImage(restarted, fixture('jpg/orientation/landscape_4.jpg'), 'kept.jpg');
    assert.deepEqual(await restarted.stop(), { code: 0, signal: null });
    const keptPath = path.join(dir, 'blobs', 'originals', kept.sha256.slice(0, 2), kept.sha256.slice(2, 4), kept.sha256);
    const orphanSha = `aabb${sha256(Buffer.from('nobody refers to me')).slice(4)}`;
    const orphanPath = path.join(dir, 'blobs', 'originals', 'aa', 'bb', orphanSha);
    await mkdir(path.dirname(orphanPath), { recursive: true });
    await writeFile(orphanPath, 'stray bytes');

    const gc = await runCli(['gc', '--grace', '0'], { DATA_DIR: dir, AUTH_TOKEN: TOKEN });
    assert.equal(gc.code, 0, gc.stderr);
    assert.match(gc.stdout, /removed 1 temp file\(s\) and 1 unreferenced blob\(s\)/);
    assert.deepEqual(await stagedFiles(dir), [], 'the staged file is gone');
    await assert.rejects(stat(orphanPath), { code: 'ENOENT' }, 'the unreferenced blob is gone');
    assert.ok((await readFile(keptPath)).equals(await readFile(fixture('jpg/orientation/landscape_4.jpg'))), 'the referenced blob is kept');

    const again = await runCli(['gc', '--grace', '0'], { DATA_DIR: dir, AUTH_TOKEN: TOKEN });
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /removed 0 temp file\(s\) and 0 unreferenced blob\(s\)/, 'a second run finds nothing');
  });

  it('on SIGTERM stops accepting connections, finishes the upload in flight with 201, and exits 0', async () => {
    const dir = await tempDataDir();
    const server = await startServer(dir);
    const photo = await readFile(fixture('jpg/orientation/landscape_5.jpg'));
    const half = Math.floor(photo.length / 2);
    const upload = openUpload(server, 'slow.jpg', photo.length);
    await writeChunk(upload.request, photo.subarray(0, half));
    // The handler is staging the body: the request is in flight.
    await waitFor('the upload to be staged', async () => ((await stagedFiles(dir)).length > 0 ? true : undefined));

    server.child.kill('SIGTERM');
    await server.waitForStdout(/shutting down: finishing in-flight requests/, 'the shutdown log line', EXIT_TIMEOUT_MS);
    await waitFor('the listening socket to close', async () => ((await accepts(server.port)) ? undefined : true), EXIT_TIMEOUT_MS);
    assert.equal(server.child.exitCode, null, 'the process waits for the upload');

    // The rest of the body, in pieces.
    const pieces = 4;
    const size = Math.ceil((photo.length - half) / pieces);
    for (let at = half; at < photo.length; at += size) await writeChunk(upload.request, photo.subarray(at, Math.min(at + size, photo.length)));
    upload.request.end();
    const answer = await within(upload.response, EXIT_TIMEOUT_MS, 'the answer to the upload in flight');
    assert.equal(answer.status, 201, answer.body);
    const image = JSON.parse(answer.body) as Image;
    assert.equal(image.bytes, photo.length);
    assert.equal(image.sha256, sha256(photo));
    assert.deepEqual(await within(server.exited, EXIT_TIMEOUT_MS, 'the exit after SIGTERM'), { code: 0, signal: null });

    // What was answered 201 is really there.
    const restarted = await startServer(dir);
    const [kept] = await listImages(restarted);
    assert.equal(kept?.filename, 'slow.jpg');
    const served = await fetchBytes(kept.url);
    assert.ok(served.bytes.equals(photo));
    assert.deepEqual(await stagedFiles(dir), [], 'no staged file left behind');
    assert.deepEqual(await restarted.stop(), { code: 0, signal: null });
  });

  it('imgd migrate applies the migrations to a fresh data dir, then says it is up to date', async () => {
    const dir = await tempDataDir();
    const first = await runCli(['migrate'], { DATA_DIR: dir });
    assert.equal(first.code, 0, first.stderr);
    const applied = /^applied: (.+)$/m.exec(first.stdout)?.[1]?.split(', ');
    assert.ok(applied, `expected "applied: …", got ${JSON.stringify(first.stdout)}`);
    assert.equal(applied[0], '001_initial');
    for (const name of applied) assert.match(name, /^\d{3}_[a-z0-9_]+$/);
    assert.deepEqual([...applied].sort(), applied, 'in order');
    assert.ok((await stat(path.join(dir, 'imgd.sqlite'))).isFile());

    const second = await runCli(['migrate'], { DATA_DIR: dir });
    assert.equal(second.code, 0, second.stderr);
    assert.match(second.stdout, /the database is up to date/);
    assert.doesNotMatch(second.stdout, /applied/);
  });

  for (const [name, value] of [
    ['PORT', 'abc'],
    ['MAX_FILE_SIZE', '-1'],
    ['LOG_LEVEL', 'loud'],
  ] as const) {
    it(`exits with code 2 and names ${name} when ${name}=${value}`, async () => {
      const dir = await tempDataDir();
      const settings: Record<string, string> = { DATA_DIR: dir, PORT: '0', AUTH_TOKEN: TOKEN, [name]: value };
      const result = await runCli(['serve'], settings);
      assert.equal(result.code, 2, `stdout: ${result.stdout}\nstderr: ${result.stderr}`);
      assert.match(result.stderr, new RegExp(`\\b${name}\\b`));
      assert.doesNotMatch(result.stdout, /imgd is listening on/);
    });
  }
});
