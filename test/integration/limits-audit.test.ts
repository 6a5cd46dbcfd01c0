import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { setTimeout as delay } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { createLogger } from '../../src/logging.js';
import { fixture, startApp, TOKEN, type TestApp } from '../helpers/app.js';
import {
  bearer,
  createKey,
  expectProblem,
  json,
  login,
  loginRequest,
  pythonHmacToken,
  register,
  registerRequest,
  signUp,
} from '../helpers/accounts.js';

const SMALL = fixture('jpg/Canon_40D.jpg');
const HMAC_SECRET = 'seed-003-shared-secret';

/** Checks a 429 rate_limited answer and its Retry-After header (whole seconds, within the window). */
async function expectRateLimited(res: Response, windowSeconds = 60): Promise<void> {
  const retryAfter = res.headers.get('retry-after');
  const problem = await expectProblem(res, 429, 'rate_limited');
  assert.match(retryAfter ?? '', /^\d+$/, 'Retry-After is a number of seconds');
  const seconds = Number(retryAfter);
  assert.ok(seconds >= 1 && seconds <= windowSeconds, `Retry-After ${seconds} is within the window`);
  assert.equal(problem.retry_after, seconds);
}

async function userCount(t: TestApp): Promise<number> {
  const res = await fetch(`${t.url}/api/v1/users`, { headers: t.auth });
  assert.equal(res.status, 200);
  return ((await res.json()) as { items: unknown[] }).items.length;
}

describe('rate limit on signing in (RATE_LIMIT_LOGIN=3)', () => {
  let t: TestApp;
  before(async () => {
    t = await startApp({ REGISTRATION: 'open', RATE_LIMIT_LOGIN: '3', RATE_LIMIT_REGISTER: '0' });
    await register(t, 'paula', 'paula password 1');
  });
  after(() => t.close());

  it('answers the 4th attempt in the window with 429 rate_limited and Retry-After, even with the right password', async () => {
    assert.equal((await loginRequest(t, { username: 'paula', password: 'paula password 1' })).status, 200);
    await expectProblem(await loginRequest(t, { username: 'paula', password: 'wrong password' }), 401, 'unauthorized');
    await expectProblem(await loginRequest(t, { username: 'nobody', password: 'wrong password' }), 401, 'unauthorized');
    const fourth = await loginRequest(t, { username: 'paula', password: 'paula password 1' });
    assert.equal(fourth.headers.get('x-content-type-options'), 'nosniff');
    await expectRateLimited(fourth);
  });

  it('leaves other routes alone', async () => {
    assert.equal((await fetch(`${t.url}/healthz`)).status, 200);
    assert.equal((await fetch(`${t.url}/api/v1/images`, { headers: t.auth })).status, 200);
  });
});

describe('sign-in limits count by address and by target username, registrations by accounts created (RATE_LIMIT_LOGIN=3, RATE_LIMIT_REGISTER=3)', () => {
  let t: TestApp;
  const keys: string[] = [];
  const from = (address: string, extra: Record<string, string> = {}) => ({ 'x-forwarded-for': address, ...extra });
  before(async () => {
    t = await startApp({ REGISTRATION: 'open', RATE_LIMIT_LOGIN: '3', RATE_LIMIT_REGISTER: '3', TRUST_PROXY: 'true' });
    await registerRequest(t, { username: 'vera', email: 'vera@example.com', password: 'vera password 1' }, from('10.9.0.1'));
    await registerRequest(t, { username: 'mallory', email: 'mallory@example.com', password: 'mallory password 1' }, from('10.9.0.2'));
    const res = await loginRequest(t, { username: 'mallory', password: 'mallory password 1' }, from('10.9.0.3'));
    const session = bearer(((await res.json()) as { access_token: string }).access_token);
    for (let i = 0; i < 4; i += 1) keys.push((await createKey(t, session, ['read'], `try ${i}`)).key);
  });
  after(() => t.close());

  it('refuses the 4th guess at one username with 429 and Retry-After, though each came with a fresh API key from a fresh address', async () => {
    for (let i = 0; i < 3; i += 1) {
      await expectProblem(await loginRequest(t, { username: 'vera', password: `guess ${i}` }, from(`10.1.0.${i}`, bearer(keys[i]!))), 401, 'unauthorized');
    }
    // The right password too: a 4th try against the name is not even checked.
    const fourth = await loginRequest(t, { username: 'VERA ', password: 'vera password 1' }, from('10.1.0.3', bearer(keys[3]!)));
    await expectRateLimited(fourth);
  });

  it('refuses the 4th sign-in from one address, whichever usernames it tries', async () => {
    for (const name of ['ann', 'bob', 'cyd']) await expectProblem(await loginRequest(t, { username: name, password: 'guess' }, from('10.2.0.1')), 401, 'unauthorized');
    await expectRateLimited(await loginRequest(t, { username: 'mallory', password: 'mallory password 1' }, from('10.2.0.1')));
    assert.equal((await loginRequest(t, { username: 'mallory', password: 'mallory password 1' }, from('10.2.0.2'))).status, 200, 'another address, another name');
  });

  it('counts the accounts an address creates, not its refused registrations (a name taken, a bad field)', async () => {
    const users = await userCount(t);
    const attempt = (username: string, email = `${username}@example.com`) => registerRequest(t, { username, email, password: 'long enough password' }, from('10.3.0.1'));
    assert.equal((await attempt('wynn')).status, 201);
    for (let i = 0; i < 4; i += 1) await expectProblem(await attempt('wynn', `w${i}@example.com`), 409, 'conflict');
    await expectProblem(await attempt('x'), 400, 'validation_failed');
    assert.equal((await attempt('wynn2')).status, 201);
    assert.equal((await attempt('wynn3')).status, 201);
    await expectRateLimited(await attempt('wynn4'));
    assert.equal(await userCount(t), users + 3);
    assert.equal((await registerRequest(t, { username: 'wynn4', email: 'wynn4@example.com', password: 'long enough password' }, from('10.3.0.2'))).status, 201, 'another address');
  });
});

describe('rate limit on registering (RATE_LIMIT_REGISTER=3)', () => {
  let t: TestApp;
  before(async () => {
    t = await startApp({ REGISTRATION: 'open', RATE_LIMIT_REGISTER: '3' });
  });
  after(() => t.close());

  it('answers a 4th account in the window with 429 rate_limited and creates no user; refused registrations do not count', async () => {
    await register(t, 'quinn');
    await register(t, 'rosa');
    await expectProblem(await registerRequest(t, { username: 'x', email: 'x@example.com', password: 'long enough password' }), 400, 'validation_failed');
    await expectProblem(await registerRequest(t, { username: 'rosa', email: 'rosa2@example.com', password: 'long enough password' }), 409, 'conflict');
    await register(t, 'sam');
    const fourth = await registerRequest(t, { username: 'tim', email: 'tim@example.com', password: 'long enough password' });
    await expectRateLimited(fourth);
    assert.equal(await userCount(t), 3);
  });
});

describe('rate limit on uploads (RATE_LIMIT_UPLOAD=3)', () => {
  let t: TestApp;
  let tess: Awaited<ReturnType<typeof signUp>>;
  before(async () => {
    t = await startApp({ REGISTRATION: 'open', RATE_LIMIT_UPLOAD: '3', RATE_LIMIT_LOGIN: '0', RATE_LIMIT_REGISTER: '0' });
    tess = await signUp(t, 'tess');
  });
  after(() => t.close());

  it('answers the 4th upload by one credential with 429 rate_limited and stores nothing', async () => {
    for (let i = 0; i < 3; i += 1) assert.equal((await t.upload([SMALL], {}, tess.auth)).status, 201);
    const before = await t.stored();
    await expectRateLimited(await t.upload([SMALL], {}, tess.auth));
    assert.deepEqual(await t.stored(), before);
  });

  it('counts each credential on its own', async () => {
    const res = await t.upload([SMALL], {}, t.auth);
    assert.equal(res.status, 201, 'the admin token has its own count');
  });
});

describe('the audit log', () => {
  let t: TestApp;
  let uma: Awaited<ReturnType<typeof signUp>>;
  let keyId: string;
  let imageId: string;
  interface Entry {
    id: string;
    at: string;
    actor: string;
    action: string;
    target: string | null;
    ip: string | null;
    details?: Record<string, unknown>;
  }
  let entries: Entry[];
  let text: string;
  let key: string;

  before(async () => {
    t = await startApp({ REGISTRATION: 'open', RATE_LIMIT_LOGIN: '0', RATE_LIMIT_REGISTER: '0' });
    uma = await signUp(t, 'uma');
    await expectProblem(await loginRequest(t, { username: 'uma', password: 'the wrong password' }), 401, 'unauthorized');
    await expectProblem(await loginRequest(t, { username: 'ghost', password: 'the ghost password' }), 401, 'unauthorized');
    const created = await createKey(t, uma.auth, ['read', 'upload', 'delete'], 'audited');
    keyId = created.id;
    key = created.key;
    const upload = await t.upload([SMALL], {}, bearer(key));
    assert.equal(upload.status, 201);
    imageId = ((await upload.json()) as { id: string }).id;
    assert.equal((await fetch(`${t.url}/api/v1/images/${imageId}`, { method: 'DELETE', headers: bearer(key) })).status, 204);
    assert.equal((await fetch(`${t.url}/api/v1/api-keys/${keyId}`, { method: 'DELETE', headers: uma.auth })).status, 204);
    const res = await fetch(`${t.url}/api/v1/audit?limit=1000`, { headers: t.auth });
    assert.equal(res.status, 200);
    text = await res.text();
    entries = (JSON.parse(text) as { items: Entry[] }).items;
  });
  after(() => t.close());

  const find = (action: string, predicate: (e: Entry) => boolean = () => true): Entry => {
    const entry = entries.find((e) => e.action === action && predicate(e));
    assert.ok(entry, `an ${action} entry in ${JSON.stringify(entries.map((e) => e.action))}`);
    return entry;
  };

  it('records a successful login with the user and the address', () => {
    const entry = find('login');
    assert.equal(entry.actor, `user:${uma.user.id}`);
    assert.equal(entry.target, uma.user.id);
    assert.equal(entry.ip, '127.0.0.1');
  });

  it('records failed logins, for known and unknown usernames, without the password', () => {
    const known = find('login.failed', (e) => e.details?.username === 'uma');
    assert.equal(known.actor, 'anonymous');
    assert.equal(known.ip, '127.0.0.1');
    find('login.failed', (e) => e.details?.username === 'ghost');
    assert.ok(!text.includes('the wrong password') && !text.includes('the ghost password'));
  });

  it('records the creation and the revocation of an API key, never the key itself', () => {
    const created = find('api_key.create');
    assert.equal(created.actor, `user:${uma.user.id}`);
    assert.equal(created.target, keyId);
    assert.equal(created.ip, '127.0.0.1');
    const revoked = find('api_key.revoke');
    assert.equal(revoked.actor, `user:${uma.user.id}`);
    assert.equal(revoked.target, keyId);
    assert.ok(!text.includes(key));
  });

  it('records uploads and deletes with the key that made them', () => {
    const upload = find('image.upload');
    assert.equal(upload.actor, `user:${uma.user.id}/key:${keyId}`);
    assert.equal(upload.target, imageId);
    assert.equal(upload.ip, '127.0.0.1');
    const deleted = find('image.delete');
    assert.equal(deleted.actor, `user:${uma.user.id}/key:${keyId}`);
    assert.equal(deleted.target, imageId);
    assert.equal(deleted.ip, '127.0.0.1');
  });

  it('lists the newest first', () => {
    const times = entries.map((e) => Date.parse(e.at));
    assert.deepEqual(times, [...times].sort((a, b) => b - a));
    assert.equal(entries[0]?.action, 'api_key.revoke');
  });

  it('answers 403 forbidden to a normal user and 401 to anonymous callers', async () => {
    await expectProblem(await fetch(`${t.url}/api/v1/audit`, { headers: uma.auth }), 403, 'forbidden');
    await expectProblem(await fetch(`${t.url}/api/v1/audit`), 401, 'unauthorized');
  });
});

describe('CORS', () => {
  describe('by default', () => {
    let t: TestApp;
    before(async () => {
      t = await startApp();
    });
    after(() => t.close());

    it('sends no access-control-allow-origin, to a request or a preflight', async () => {
      const res = await fetch(`${t.url}/healthz`, { headers: { origin: 'https://app.example' } });
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('access-control-allow-origin'), null);
      const preflight = await fetch(`${t.url}/api/v1/images`, {
        method: 'OPTIONS',
        headers: { origin: 'https://app.example', 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization' },
      });
      assert.equal(preflight.headers.get('access-control-allow-origin'), null);
      assert.equal(preflight.headers.get('access-control-allow-methods'), null);
    });
  });

  describe('with CORS_ORIGINS=https://app.example', () => {
    let t: TestApp;
    before(async () => {
      t = await startApp({ CORS_ORIGINS: 'https://app.example' });
    });
    after(() => t.close());

    const preflight = (origin: string): Promise<Response> =>
      fetch(`${t.url}/api/v1/images`, {
        method: 'OPTIONS',
        headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization, content-type' },
      });

    it('answers a preflight from the allowed origin with that origin, the methods and the headers', async () => {
      const res = await preflight('https://app.example');
      assert.equal(res.status, 204);
      assert.equal(res.headers.get('access-control-allow-origin'), 'https://app.example');
      assert.match(res.headers.get('access-control-allow-methods') ?? '', /\bPOST\b/);
      assert.match(res.headers.get('access-control-allow-headers') ?? '', /\bauthorization\b/i);
      assert.match(res.headers.get('vary') ?? '', /origin/i);
    });

    it('allows the origin on requests, and exposes the headers clients need', async () => {
      const res = await fetch(`${t.url}/api/v1/images`, { headers: { ...t.auth, origin: 'https://app.example' } });
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('access-control-allow-origin'), 'https://app.example');
      assert.match(res.headers.get('access-control-expose-headers') ?? '', /retry-after/i);
    });

    it('sends no allow header to an origin that is not listed', async () => {
      const res = await preflight('https://evil.example');
      assert.equal(res.headers.get('access-control-allow-origin'), null);
      const get = await fetch(`${t.url}/api/v1/images`, { headers: { ...t.auth, origin: 'https://evil.example' } });
      assert.equal(get.headers.get('access-control-allow-origin'), null);
      const lookalike = await preflight('https://app.example.evil.example');
      assert.equal(lookalike.headers.get('access-control-allow-origin'), null);
    });
  });
});

describe('security headers', () => {
  let t: TestApp;
  let imageUrl: string;
  before(async () => {
    t = await startApp({ RATE_LIMIT_LOGIN: '1' });
    const res = await t.upload([SMALL]);
    imageUrl = ((await res.json()) as { url: string }).url;
  });
  after(() => t.close());

  it('are on every kind of response: JSON, image bytes, docs, errors and rate limits', async () => {
    await loginRequest(t, { username: 'nobody', password: 'whatever pw' });
    const requests: Array<[string, () => Promise<Response>]> = [
      ['root', () => fetch(`${t.url}/`)],
      ['health', () => fetch(`${t.url}/healthz`)],
      ['list', () => fetch(`${t.url}/api/v1/images`, { headers: t.auth })],
      ['image', () => fetch(imageUrl)],
      ['head', () => fetch(imageUrl, { method: 'HEAD' })],
      ['openapi', () => fetch(`${t.url}/openapi.json`)],
      ['401', () => fetch(`${t.url}/api/v1/images`)],
      ['404 route', () => fetch(`${t.url}/no/such/route`)],
      ['404 image', () => fetch(`${t.url}/i/${'A'.repeat(16)}/missing.jpg`)],
      ['400', () => fetch(`${t.url}/api/v1/images?limit=0`, { headers: t.auth })],
      ['429', () => loginRequest(t, { username: 'nobody', password: 'whatever pw' })],
    ];
    for (const [name, request] of requests) {
      const res = await request();
      await res.arrayBuffer();
      assert.equal(res.headers.get('x-content-type-options'), 'nosniff', name);
      assert.equal(res.headers.get('x-frame-options'), 'DENY', name);
      assert.equal(res.headers.get('referrer-policy'), 'no-referrer', name);
      if (name === '429') assert.equal(res.status, 429);
    }
  });
});

describe('logs', () => {
  const lines: string[] = [];
  let t: TestApp;
  const secrets = new Map<string, string>();

  before(async () => {
    const logger = createLogger('debug', { write: (line: string) => void lines.push(line) });
    t = await startApp({ REGISTRATION: 'open', RATE_LIMIT_LOGIN: '0', RATE_LIMIT_REGISTER: '0', UPLOAD_TOKEN_SECRET: HMAC_SECRET }, undefined, { logger });
    secrets.set('admin token', TOKEN);
    secrets.set('HMAC secret', HMAC_SECRET);
    const password = 'victor registration password';
    secrets.set('registration password', password);
    await register(t, 'victor', password);
    const jwt = await login(t, 'victor', password);
    secrets.set('JWT', jwt);
    // A failed sign-in, with a password that is not the user's.
    secrets.set('failed login password', 'victor wrong password');
    await expectProblem(await loginRequest(t, { username: 'victor', password: 'victor wrong password' }), 401, 'unauthorized');
    const newPassword = 'victor changed password';
    secrets.set('new password', newPassword);
    assert.equal((await fetch(`${t.url}/api/v1/auth/password`, json({ current_password: password, new_password: newPassword }, bearer(jwt)))).status, 204);
    const jwt2 = await login(t, 'victor', newPassword);
    secrets.set('second JWT', jwt2);

    const key = await createKey(t, bearer(jwt2), ['read', 'upload', 'delete'], 'logged');
    secrets.set('API key', key.key);
    const uploaded = await t.upload([SMALL], { visibility: 'private' }, bearer(key.key));
    assert.equal(uploaded.status, 201);
    const image = (await uploaded.json()) as { id: string; url: string };
    assert.equal((await fetch(`${t.url}/api/v1/images`, { headers: bearer(key.key) })).status, 200);

    const minted = await fetch(`${t.url}/api/v1/upload-tokens`, json({ expires_in: 600 }, bearer(jwt2)));
    const uploadToken = ((await minted.json()) as { token: string }).token;
    secrets.set('minted upload token', uploadToken);
    assert.equal((await t.upload([SMALL], {}, bearer(uploadToken))).status, 201);
    const form = new FormData();
    form.append('file', new Blob([await readFile(SMALL)]), 'minted.jpg');
    assert.equal((await fetch(`${t.url}/api/v1/images?token=${uploadToken}`, { method: 'POST', body: form })).status, 201);

    const hmac = pythonHmacToken(HMAC_SECRET);
    secrets.set('HMAC token', hmac);
    const hmacForm = new FormData();
    hmacForm.append('file', new Blob([await readFile(SMALL)]), 'hmac.jpg');
    assert.equal((await fetch(`${t.url}/api/v1/images?token=${hmac}`, { method: 'POST', body: hmacForm })).status, 201);
    assert.equal((await t.upload([SMALL], {}, bearer(hmac))).status, 201);
    // The query parser decodes parameter names, so an encoded name still carries the token.
    const encoded = pythonHmacToken(HMAC_SECRET, -5);
    secrets.set('HMAC token under an encoded name', encoded);
    await expectProblem(await fetch(`${t.url}/api/v1/images?%74oken=${encoded}`), 403, 'forbidden');
    // Refused credentials in the URL are logged as much as accepted ones.
    await expectProblem(await fetch(`${t.url}/api/v1/images?token=${TOKEN}`), 401, 'unauthorized');
    await expectProblem(await fetch(`${t.url}/api/v1/images?token=${jwt2}`), 401, 'unauthorized');
    await expectProblem(await fetch(`${t.url}/api/v1/images?limit=1&token=${key.key}`), 401, 'unauthorized');

    const shared = await fetch(`${t.url}/api/v1/images/${image.id}/share`, json({ expires_in: 60 }, t.auth));
    const shareUrl = new URL(((await shared.json()) as { url: string }).url);
    secrets.set('share signature', shareUrl.searchParams.get('sig')!);
    assert.equal((await fetch(shareUrl)).status, 200);

    assert.equal((await fetch(`${t.url}/api/v1/images/${image.id}`, { method: 'DELETE', headers: bearer(key.key) })).status, 204);
    assert.equal((await fetch(`${t.url}/api/v1/auth/me`, { headers: t.auth })).status, 200);
    // Let the background jobs log too.
    await delay(500);
  });
  after(() => t.close());

  it('are written (so the check below is not vacuous): requests, refusals and audit entries', () => {
    const all = lines.join('');
    assert.ok(lines.length > 20, `${lines.length} log lines`);
    assert.match(all, /"url":"\/api\/v1\/images\?token=\[redacted\]"/);
    assert.match(all, /"action":"login.failed"/);
    assert.match(all, /"action":"api_key.create"/);
    assert.match(all, /"msg":"incoming request"/);
  });

  it('never contain a password, the admin token, an API key, a JWT, an upload token or an HMAC token', () => {
    for (const line of lines) {
      for (const [name, secret] of secrets) assert.ok(!line.includes(secret), `the ${name} appears in the log line ${line}`);
    }
    // A JWT's signature alone would do as much harm as the whole token.
    for (const name of ['JWT', 'second JWT']) {
      const signature = secrets.get(name)!.split('.')[2]!;
      for (const line of lines) assert.ok(!line.includes(signature), `the ${name} signature appears in ${line}`);
    }
  });
});
