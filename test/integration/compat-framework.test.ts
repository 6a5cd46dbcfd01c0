// COMPAT's framework: profiles on the main listener or their own, FastAPI-style 404/405, drained on close, refused start-ups.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { fixture, makeDataDir, servicesFor, startCompatApp, TOKEN, type CompatTestApp } from '../helpers/app.js';
import { freePort, runCli, startServer } from '../helpers/processes.js';
import { rawExchange } from '../helpers/raw-http.js';

const PHOTO = fixture('jpg/Canon_40D.jpg');
const admin = { authorization: `Bearer ${TOKEN}` };

/** Uploads through the native API; answers the stored filename and the path of the image's native URL. */
async function uploadNatively(t: CompatTestApp): Promise<{ filename: string; path: string }> {
  const res = await t.upload([PHOTO]);
  assert.equal(res.status, 201);
  const image = (await res.json()) as { filename: string; url: string };
  return { filename: image.filename, path: new URL(image.url).pathname };
}

describe('a profile on the main listener', () => {
  let t: CompatTestApp;
  before(async () => {
    t = await startCompatApp('img_handler');
  });
  after(() => t.close());

  it('serves beside the native API, the native API unchanged', async () => {
    assert.equal(t.at('img_handler'), t.url);
    const { filename } = await uploadNatively(t);
    const res = await fetch(`${t.url}/image/${filename}`, { headers: admin });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'image/jpeg');
    assert.deepEqual(Buffer.from(await res.arrayBuffer()), await readFile(PHOTO));
    const native = await fetch(`${t.url}/api/v1/nothing`);
    assert.equal(native.status, 404);
    assert.equal(native.headers.get('content-type'), 'application/problem+json; charset=utf-8');
  });

  it('answers unknown paths outside /api/v1 and wrong methods the FastAPI way, as application/json', async () => {
    const missing = await fetch(`${t.url}/nothing/here`);
    assert.equal(missing.status, 404);
    assert.equal(missing.headers.get('content-type'), 'application/json');
    assert.deepEqual(await missing.json(), { detail: 'Not Found' });
    const wrong = await fetch(`${t.url}/image/x.png`, { method: 'DELETE', headers: admin });
    assert.equal(wrong.status, 405);
    assert.equal(wrong.headers.get('allow'), 'GET, HEAD');
    assert.equal(wrong.headers.get('content-type'), 'application/json');
    assert.deepEqual(await wrong.json(), { detail: 'Method Not Allowed' });
  });
});

describe('a profile on a listener of its own', () => {
  let t: CompatTestApp;
  before(async () => {
    t = await startCompatApp('img_handler:own');
  });

  it('serves only its routes there, from the same database and store', async () => {
    const base = t.at('img_handler');
    assert.notEqual(base, t.url);
    const { filename, path: native } = await uploadNatively(t);
    const res = await fetch(`${base}/images/${filename}`, { headers: admin });
    assert.equal(res.status, 200);
    assert.deepEqual(Buffer.from(await res.arrayBuffer()), await readFile(PHOTO));
    for (const path of ['/api/v1/images', '/healthz', native, '/']) {
      const other = await fetch(`${base}${path}`, { headers: admin });
      assert.equal(other.status, 404, path);
      assert.equal(other.headers.get('content-type'), 'application/json');
      assert.deepEqual(await other.json(), { detail: 'Not Found' });
    }
    assert.equal((await fetch(`${t.url}/image/${filename}`, { headers: admin })).status, 404, 'not on the main listener');
  });

  it('closes with the app', async () => {
    const port = Number(new URL(t.at('img_handler')).port);
    await t.close();
    const refused = await new Promise<boolean>((resolve) => {
      const socket = net.connect(port, '127.0.0.1');
      socket.once('connect', () => (socket.destroy(), resolve(false)));
      socket.once('error', () => resolve(true));
    });
    assert.ok(refused, 'nothing listens on the profile port after close');
  });
});

describe('errors made before routing, on a profile listener of its own', () => {
  let t: CompatTestApp;
  before(async () => {
    t = await startCompatApp('img_handler:own,s3_upload:own', { REQUEST_TIMEOUT_MS: '1000', CONNECTION_TIMEOUT_MS: '10000' });
  });
  after(() => t.close());

  // The parser's and the router's refusals: imgd's statuses, in the seed's body, as application/json (COMPAT.md §2.3).
  for (const [profile, key, route] of [
    ['img_handler', 'detail', '/image'],
    ['s3_upload', 'error', '/api/url'],
  ] as const) {
    it(`${profile}: 431, 414, 400 (bad framing, a broken %-escape), 408 and a body over the limit answer {"${key}": ...}`, async () => {
      const base = t.at(profile);
      const cases: Array<[string, number, string, boolean?]> = [
        ['headers over 16 KiB', 431, `GET ${route}/x HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`],
        ['a path segment over 256 characters', 414, `GET ${route}/${'a'.repeat(300)} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`],
        ['Content-Length with chunked', 400, 'POST /upload-image HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n'],
        ['no HTTP at all', 400, 'HELLO\r\n\r\n'],
        ['a broken %-escape', 400, `GET ${route}/%E0%A4%A HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`],
        ['a JSON body over 1 MiB', 413, `POST /upload-image HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: 1100000\r\n\r\n"${'x'.repeat(1_099_998)}"`],
        ['headers still unread after REQUEST_TIMEOUT_MS', 408, `GET ${route}/x HTTP/1.1\r\nHost: x\r\nX-Slow: `, true],
      ];
      for (const [what, status, bytes, trickle] of cases) {
        const answer = await rawExchange(base, bytes, trickle);
        assert.equal(answer.status, status, what);
        assert.equal(answer.headers['content-type'], 'application/json', what);
        assert.equal(answer.headers['x-content-type-options'], 'nosniff', what);
        const body = JSON.parse(answer.body) as Record<string, unknown>;
        assert.deepEqual(Object.keys(body), [key], what);
        assert.equal(typeof body[key], 'string', what);
      }
    });
  }
});

describe('start-up refusals (the real CLI)', () => {
  let dataDir: string;
  let settings: Record<string, string>;
  before(async () => {
    dataDir = await makeDataDir();
    settings = { ...(await servicesFor(dataDir)), DATA_DIR: dataDir, AUTH_TOKEN: TOKEN };
  });

  /** One JSON line on stderr with the message, exit status 2, and the main port never opened. */
  async function refusedStart(env: Record<string, string>, message: RegExp): Promise<void> {
    const port = await freePort();
    const run = await runCli(['serve'], { ...settings, PORT: String(port), ...env });
    assert.equal(run.code, 2, run.stderr);
    // Every stderr line is JSON (§2.8); the AWS SDK's Node version warning (scale profile) may be one of them.
    const lines = run.stderr.split('\n').filter((l) => l !== '' && !(JSON.parse(l) as { warning?: unknown }).warning);
    assert.equal(lines.length, 1, run.stderr);
    const line = JSON.parse(lines[0]!) as { level: number; msg: string };
    assert.equal(line.level, 60);
    assert.match(line.msg, message);
    assert.doesNotMatch(run.stdout, /listening/);
  }

  it('starts with the profiles, naming where each answers in the banner', async () => {
    const own = await freePort();
    const server = await startServer(dataDir, { ...settings, COMPAT: `img_handler:${own}` });
    try {
      assert.match(server.stdout(), new RegExp(`"compat":\\{"img_handler":"http://127\\.0\\.0\\.1:${own}"\\}`));
      const res = await fetch(`http://127.0.0.1:${own}/image/none.png`, { headers: { authorization: `Bearer ${TOKEN}` } });
      assert.deepEqual(await res.json(), { detail: 'Image not found' });
    } finally {
      assert.equal((await server.stop()).code, 0, 'drains every listener and exits 0 on SIGTERM');
    }
  });

  it('refuses an unknown profile, listing the five', async () => {
    await refusedStart({ COMPAT: 'img_handler,imgur' }, /unknown profile "imgur"; the profiles are img_handler, imgapi, attachments, media_server, s3_upload/);
  });

  it('refuses a profile port in use', async () => {
    const busy = net.createServer();
    await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
    const port = (busy.address() as net.AddressInfo).port;
    try {
      await refusedStart({ COMPAT: `img_handler:${port}` }, new RegExp(`COMPAT: cannot listen on 127\\.0\\.0\\.1:${port} for img_handler: the port is in use`));
    } finally {
      busy.close();
    }
  });
});
