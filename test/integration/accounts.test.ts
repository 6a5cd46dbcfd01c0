import assert from 'node:assert/strict';
import { readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { SignJWT } from 'jose';
import { fixture, makeDataDir, servicesFor, startApp, TOKEN, type TestApp } from '../helpers/app.js';
import {
  bearer,
  createKey,
  expectProblem,
  json,
  login,
  loginRequest,
  register,
  registerRequest,
  signUp,
  type UserView,
} from '../helpers/accounts.js';
import { runCli } from '../helpers/processes.js';

/** Open registration and no rate limits: these tests sign in many times from one address. */
const OPEN = { REGISTRATION: 'open', RATE_LIMIT_LOGIN: '0', RATE_LIMIT_REGISTER: '0' };

async function userCount(t: TestApp): Promise<number> {
  const res = await fetch(`${t.url}/api/v1/users`, { headers: t.auth });
  assert.equal(res.status, 200);
  return ((await res.json()) as { items: unknown[] }).items.length;
}

async function me(t: TestApp, headers: Record<string, string>): Promise<Response> {
  return fetch(`${t.url}/api/v1/auth/me`, { headers });
}

const b64url = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');

/** The key the app signs sessions with: `jwt:` and the signing secret it keeps in the data dir. */
async function sessionKey(t: TestApp): Promise<Uint8Array> {
  const secret = (await readFile(path.join(t.dataDir, 'signing_key'), 'utf8')).trim();
  return new TextEncoder().encode(`jwt:${secret}`);
}

describe('registration when it is closed (the default)', () => {
  let t: TestApp;
  before(async () => {
    t = await startApp();
  });
  after(() => t.close());

  it('refuses to register with 403 forbidden and creates no user', async () => {
    const res = await registerRequest(t, { username: 'alice', email: 'alice@example.com', password: 'correct horse battery' });
    await expectProblem(res, 403, 'forbidden');
    assert.equal(await userCount(t), 0);
  });
});

describe('registering with open registration', () => {
  let t: TestApp;
  before(async () => {
    t = await startApp(OPEN);
  });
  after(() => t.close());

  it('answers 201 with the user and no password field', async () => {
    const res = await registerRequest(t, { username: 'Alice', email: 'Alice@Example.com', password: 'correct horse battery' });
    assert.equal(res.status, 201);
    const body = (await res.json()) as Record<string, unknown>;
    assert.deepEqual(Object.keys(body).sort(), ['created_at', 'disabled', 'email', 'id', 'role', 'username']);
    assert.equal(body.username, 'alice');
    assert.equal(body.email, 'alice@example.com');
    assert.equal(body.role, 'user');
    assert.ok(!JSON.stringify(body).includes('correct horse battery'));
    assert.ok(!/password|hash/i.test(JSON.stringify(body)));
  });

  for (const [what, body, field] of [
    ['a password shorter than 8 characters', { username: 'shortpw', email: 'shortpw@example.com', password: 'seven77' }, 'password'],
    ['an e-mail without a domain', { username: 'bademail', email: 'bademail@nowhere', password: 'long enough password' }, 'email'],
    ['an e-mail that is no address at all', { username: 'bademail2', email: 'not an email', password: 'long enough password' }, 'email'],
    ['a username with a space', { username: 'bad name', email: 'badname@example.com', password: 'long enough password' }, 'username'],
    ['a username of two characters', { username: 'ab', email: 'ab@example.com', password: 'long enough password' }, 'username'],
    ['a username starting with a dot', { username: '.hidden', email: 'hidden@example.com', password: 'long enough password' }, 'username'],
  ] as const) {
    it(`refuses ${what} with 400 validation_failed and creates no user`, async () => {
      const before = await userCount(t);
      const problem = await expectProblem(await registerRequest(t, body), 400, 'validation_failed');
      assert.equal(problem.field, field);
      assert.equal(await userCount(t), before);
    });
  }

  it('refuses a body with unknown properties or missing fields with 400 validation_failed', async () => {
    const before = await userCount(t);
    await expectProblem(await registerRequest(t, { username: 'extra', email: 'extra@example.com', password: 'long enough password', role: 'admin' }), 400, 'validation_failed');
    await expectProblem(await registerRequest(t, { username: 'nopass', email: 'nopass@example.com' }), 400, 'validation_failed');
    assert.equal(await userCount(t), before);
  });

  it('refuses a taken username or e-mail with 409 conflict, whatever their case', async () => {
    await register(t, 'bob');
    const before = await userCount(t);
    const sameName = await expectProblem(await registerRequest(t, { username: 'BOB', email: 'other-bob@example.com', password: 'long enough password' }), 409, 'conflict');
    assert.equal(sameName.field, 'username');
    const sameEmail = await expectProblem(await registerRequest(t, { username: 'bobby', email: 'BOB@example.com', password: 'long enough password' }), 409, 'conflict');
    assert.equal(sameEmail.field, 'email');
    assert.equal(await userCount(t), before);
  });
});

describe('registration by invite', () => {
  let t: TestApp;
  before(async () => {
    t = await startApp({ ...OPEN, REGISTRATION: 'invite' });
  });
  after(() => t.close());

  async function invite(role?: 'admin' | 'user'): Promise<string> {
    const res = await fetch(`${t.url}/api/v1/invites`, json(role ? { role } : {}, t.auth));
    assert.equal(res.status, 201, await res.clone().text());
    const body = (await res.json()) as { invite: string; expires_at: string };
    assert.ok(Date.parse(body.expires_at) > Date.now());
    return body.invite;
  }

  it('refuses to register without an invite (403 forbidden)', async () => {
    await expectProblem(await registerRequest(t, { username: 'carol', email: 'carol@example.com', password: 'long enough password' }), 403, 'forbidden');
    assert.equal(await userCount(t), 0);
  });

  it('refuses an invite that was never minted (403 forbidden)', async () => {
    const res = await registerRequest(t, { username: 'carol', email: 'carol@example.com', password: 'long enough password', invite: 'imgd_i_made-up' });
    await expectProblem(res, 403, 'forbidden');
    assert.equal(await userCount(t), 0);
  });

  it('registers a user with an invite minted by an admin, and the invite cannot be used again', async () => {
    const code = await invite();
    const res = await registerRequest(t, { username: 'carol', email: 'carol@example.com', password: 'long enough password', invite: code });
    assert.equal(res.status, 201, await res.clone().text());
    assert.equal(((await res.json()) as UserView).role, 'user');
    const before = await userCount(t);
    const again = await registerRequest(t, { username: 'dave', email: 'dave@example.com', password: 'long enough password', invite: code });
    await expectProblem(again, 403, 'forbidden');
    assert.equal(await userCount(t), before);
  });

  it('keeps the invite good when the registration it came with is refused (409 name taken)', async () => {
    const code = await invite();
    const before = await userCount(t);
    const taken = await registerRequest(t, { username: 'carol', email: 'other@example.com', password: 'long enough password', invite: code });
    await expectProblem(taken, 409, 'conflict');
    assert.equal(await userCount(t), before);
    const retry = await registerRequest(t, { username: 'carol2', email: 'other@example.com', password: 'long enough password', invite: code });
    assert.equal(retry.status, 201, await retry.clone().text());
  });

  it('makes an admin from an invite for the admin role', async () => {
    const code = await invite('admin');
    const res = await registerRequest(t, { username: 'erin', email: 'erin@example.com', password: 'long enough password', invite: code });
    assert.equal(res.status, 201);
    assert.equal(((await res.json()) as UserView).role, 'admin');
    const session = bearer(await login(t, 'erin', 'long enough password'));
    const users = await fetch(`${t.url}/api/v1/users`, { headers: session });
    assert.equal(users.status, 200, 'the new admin may list users');
  });

  it('lets only admins mint invites', async () => {
    const code = await invite();
    await registerRequest(t, { username: 'frank', email: 'frank@example.com', password: 'long enough password', invite: code });
    const session = bearer(await login(t, 'frank', 'long enough password'));
    await expectProblem(await fetch(`${t.url}/api/v1/invites`, json({}, session)), 403, 'forbidden');
    await expectProblem(await fetch(`${t.url}/api/v1/invites`, json({})), 401, 'unauthorized');
  });
});

describe('signing in with the OAuth2 password form', () => {
  let t: TestApp;
  let user: UserView;
  before(async () => {
    t = await startApp(OPEN);
    user = await register(t, 'grace', 'grace password 1');
  });
  after(() => t.close());

  it('answers a bearer access token with its lifetime', async () => {
    const res = await loginRequest(t, { username: 'grace', password: 'grace password 1', grant_type: 'password' });
    assert.equal(res.status, 200);
    const body = (await res.json()) as { access_token: string; token_type: string; expires_in: number };
    assert.equal(body.token_type, 'bearer');
    assert.equal(body.expires_in, 3600);
    assert.match(body.access_token, /^eyJ[\w-]+\.[\w-]+\.[\w-]+$/);
    const who = await me(t, bearer(body.access_token));
    assert.equal(who.status, 200);
    assert.equal(((await who.json()) as { id: string }).id, user.id);
  });

  it('accepts the form without grant_type, and the e-mail in place of the username', async () => {
    const plain = await loginRequest(t, { username: 'grace', password: 'grace password 1' });
    assert.equal(plain.status, 200);
    const byEmail = await loginRequest(t, { username: 'GRACE@example.com', password: 'grace password 1' });
    assert.equal(byEmail.status, 200);
  });

  it('refuses a grant_type other than password with 400 validation_failed', async () => {
    await expectProblem(await loginRequest(t, { username: 'grace', password: 'grace password 1', grant_type: 'client_credentials' }), 400, 'validation_failed');
  });

  it('answers a wrong password and an unknown user alike: 401 unauthorized with the same detail', async () => {
    const wrong = await expectProblem(await loginRequest(t, { username: 'grace', password: 'not the password' }), 401, 'unauthorized');
    const unknown = await expectProblem(await loginRequest(t, { username: 'nobody', password: 'grace password 1' }), 401, 'unauthorized');
    assert.equal(wrong.detail, unknown.detail);
  });
});

describe('who am I (GET /api/v1/auth/me)', () => {
  let t: TestApp;
  let henry: Awaited<ReturnType<typeof signUp>>;
  before(async () => {
    t = await startApp(OPEN);
    henry = await signUp(t, 'henry');
  });
  after(() => t.close());

  it('describes a session: the user with every scope of their role', async () => {
    const res = await me(t, henry.auth);
    assert.equal(res.status, 200);
    const body = (await res.json()) as Record<string, unknown>;
    assert.equal(body.id, henry.user.id);
    assert.equal(body.username, 'henry');
    assert.equal(body.role, 'user');
    assert.equal(body.credential, 'session');
    assert.deepEqual(body.scopes, ['read', 'upload', 'delete']);
  });

  it('describes an API key: its user and only its scopes', async () => {
    const key = await createKey(t, henry.auth, ['read']);
    const res = await me(t, bearer(key.key));
    assert.equal(res.status, 200);
    const body = (await res.json()) as Record<string, unknown>;
    assert.equal(body.id, henry.user.id);
    assert.equal(body.credential, 'api_key');
    assert.deepEqual(body.scopes, ['read']);
  });

  it('describes the admin token as an admin with every scope', async () => {
    const res = await me(t, t.auth);
    assert.equal(res.status, 200);
    const body = (await res.json()) as Record<string, unknown>;
    assert.equal(body.credential, 'admin_token');
    assert.equal(body.role, 'admin');
    assert.deepEqual(body.scopes, ['read', 'upload', 'delete', 'admin']);
  });

  it('answers 401 unauthorized without a credential, and with a credential that is not one', async () => {
    const res = await me(t, {});
    await expectProblem(res, 401, 'unauthorized');
    assert.equal(res.headers.get('www-authenticate'), 'Bearer');
    await expectProblem(await me(t, bearer('imgd_k_not-a-real-key')), 401, 'unauthorized');
    await expectProblem(await me(t, { authorization: `Basic ${Buffer.from('henry:x').toString('base64')}` }), 401, 'unauthorized');
  });
});

describe('changing a password', () => {
  let t: TestApp;
  before(async () => {
    t = await startApp(OPEN);
  });
  after(() => t.close());

  const change = (auth: Record<string, string>, current: string, next: string): Promise<Response> =>
    fetch(`${t.url}/api/v1/auth/password`, json({ current_password: current, new_password: next }, auth));

  it('answers 204, and from then on only the new password signs in', async () => {
    const ivy = await signUp(t, 'ivy');
    const res = await change(ivy.auth, ivy.password, 'a brand new password');
    assert.equal(res.status, 204);
    await expectProblem(await loginRequest(t, { username: 'ivy', password: ivy.password }), 401, 'unauthorized');
    await login(t, 'ivy', 'a brand new password');
  });

  it('ends every session and upload token of the user at once: an old session answers 401 and cannot mint an API key', async () => {
    const mia = await signUp(t, 'mia');
    const second = bearer(await login(t, 'mia', mia.password));
    const minted = await fetch(`${t.url}/api/v1/upload-tokens`, json({ expires_in: 3600 }, second));
    assert.equal(minted.status, 201);
    const uploadToken = ((await minted.json()) as { token: string }).token;
    const key = await createKey(t, second, ['read']);
    const nate = await signUp(t, 'nate');
    const stored = await t.stored();

    assert.equal((await change(mia.auth, mia.password, 'a brand new password')).status, 204);

    for (const session of [mia.auth, second]) await expectProblem(await me(t, session), 401, 'unauthorized');
    await expectProblem(await fetch(`${t.url}/api/v1/api-keys`, json({ name: 'keep me in', scopes: ['read', 'upload'] }, second)), 401, 'unauthorized');
    await expectProblem(await t.upload([fixture('jpg/Canon_40D.jpg')], {}, bearer(uploadToken)), 401, 'unauthorized');
    assert.deepEqual(await t.stored(), stored, 'nothing stored by the ended upload token');
    const fresh = bearer(await login(t, 'mia', 'a brand new password'));
    assert.equal((await me(t, fresh)).status, 200, 'a session signed after the change works');
    const keys = (await (await fetch(`${t.url}/api/v1/api-keys`, { headers: fresh })).json()) as { items: { id: string }[] };
    assert.deepEqual(keys.items.map((k) => k.id), [key.id], 'no key was minted by the ended session');
    assert.equal((await me(t, bearer(key.key))).status, 200, 'API keys are revoked on their own (DELETE /api/v1/api-keys/{id})');
    assert.equal((await me(t, nate.auth)).status, 200, "another user's session lives on");
  });

  it('refuses a wrong current password with 401 unauthorized and keeps the old one', async () => {
    const jack = await signUp(t, 'jack');
    await expectProblem(await change(jack.auth, 'not my password', 'a brand new password'), 401, 'unauthorized');
    await login(t, 'jack', jack.password);
    await expectProblem(await loginRequest(t, { username: 'jack', password: 'a brand new password' }), 401, 'unauthorized');
  });

  it('refuses a new password that is too short with 400 validation_failed', async () => {
    const kate = await signUp(t, 'kate');
    const problem = await expectProblem(await change(kate.auth, kate.password, 'short'), 400, 'validation_failed');
    assert.equal(problem.field, 'new_password');
    await login(t, 'kate', kate.password);
  });

  it('refuses an API key with 403 forbidden, even one with every scope', async () => {
    const liam = await signUp(t, 'liam');
    const key = await createKey(t, liam.auth, ['read', 'upload', 'delete']);
    await expectProblem(await change(bearer(key.key), liam.password, 'a brand new password'), 403, 'forbidden');
    await login(t, 'liam', liam.password);
  });

  it('refuses the admin token (it has no password) with 403 and anonymous callers with 401', async () => {
    await expectProblem(await change(t.auth, 'whatever pw', 'a brand new password'), 403, 'forbidden');
    await expectProblem(await change({}, 'whatever pw', 'a brand new password'), 401, 'unauthorized');
  });
});

describe('session tokens (JWTs)', () => {
  let t: TestApp;
  let mia: Awaited<ReturnType<typeof signUp>>;
  before(async () => {
    t = await startApp(OPEN);
    mia = await signUp(t, 'mia');
  });
  after(() => t.close());

  const sign = (claims: { sub: string; exp: number | string; iss?: string }, alg: 'HS256' | 'HS512', key: Uint8Array): Promise<string> =>
    new SignJWT({})
      .setProtectedHeader({ alg, typ: 'JWT' })
      .setSubject(claims.sub)
      .setIssuer(claims.iss ?? 'imgd')
      .setIssuedAt()
      .setExpirationTime(claims.exp)
      .sign(key);

  it('accepts a token signed the way the app signs them (the checks below are not vacuous)', async () => {
    const token = await sign({ sub: mia.user.id, exp: '5m' }, 'HS256', await sessionKey(t));
    const res = await me(t, bearer(token));
    assert.equal(res.status, 200);
    assert.equal(((await res.json()) as { id: string }).id, mia.user.id);
  });

  it('refuses an unsigned token (alg none) with 401 unauthorized', async () => {
    const now = Math.floor(Date.now() / 1000);
    const token = `${b64url({ alg: 'none', typ: 'JWT' })}.${b64url({ sub: mia.user.id, iss: 'imgd', iat: now, exp: now + 600 })}.`;
    await expectProblem(await me(t, bearer(token)), 401, 'unauthorized');
    await expectProblem(await t.upload([], {}, bearer(token)), 401, 'unauthorized');
  });

  it('refuses a token signed with another secret with 401 unauthorized', async () => {
    const token = await sign({ sub: mia.user.id, exp: '5m' }, 'HS256', new TextEncoder().encode('jwt:some-other-secret-0123456789abcdef'));
    await expectProblem(await me(t, bearer(token)), 401, 'unauthorized');
  });

  it('refuses an expired token with 401 unauthorized', async () => {
    const token = await sign({ sub: mia.user.id, exp: Math.floor(Date.now() / 1000) - 120 }, 'HS256', await sessionKey(t));
    await expectProblem(await me(t, bearer(token)), 401, 'unauthorized');
  });

  it('refuses a token with another algorithm (HS512 with the right key) with 401 unauthorized', async () => {
    const token = await sign({ sub: mia.user.id, exp: '5m' }, 'HS512', await sessionKey(t));
    await expectProblem(await me(t, bearer(token)), 401, 'unauthorized');
  });

  it('refuses a token from another issuer, for a user who does not exist, or with its payload changed', async () => {
    const key = await sessionKey(t);
    await expectProblem(await me(t, bearer(await sign({ sub: mia.user.id, exp: '5m', iss: 'someone-else' }, 'HS256', key))), 401, 'unauthorized');
    await expectProblem(await me(t, bearer(await sign({ sub: 'no-such-user', exp: '5m' }, 'HS256', key))), 401, 'unauthorized');
    const [header, , signature] = mia.token.split('.');
    const forged = `${header}.${b64url({ sub: 'someone-else', iss: 'imgd', exp: Math.floor(Date.now() / 1000) + 600 })}.${signature}`;
    await expectProblem(await me(t, bearer(forged)), 401, 'unauthorized');
  });
});

describe('imgd user add (CLI)', () => {
  it('creates an admin in the data dir of a running app, who can then sign in and act as admin', async () => {
    const dir = await makeDataDir();
    const t = await startApp({ RATE_LIMIT_LOGIN: '0' }, dir);
    try {
      const out = await runCli(['user', 'add', 'root', '--admin', '--password-stdin'], { ...(await servicesFor(dir)), DATA_DIR: dir, AUTH_TOKEN: TOKEN }, 'cli admin password\n');
      assert.equal(out.code, 0, out.stderr);
      assert.match(out.stdout, /^created admin root \(id \S+\)/);
      assert.ok(!out.stdout.includes('cli admin password'), 'a password from stdin is not echoed');
      const session = bearer(await login(t, 'root', 'cli admin password'));
      const who = (await (await me(t, session)).json()) as { role: string; scopes: string[] };
      assert.equal(who.role, 'admin');
      assert.ok(who.scopes.includes('admin'));
      const users = await fetch(`${t.url}/api/v1/users`, { headers: session });
      assert.equal(users.status, 200);
      assert.deepEqual(((await users.json()) as { items: UserView[] }).items.map((u) => u.username), ['root']);
    } finally {
      await t.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('creates a user in a fresh data dir that an app started on it later accepts', async () => {
    const dir = await makeDataDir();
    try {
      const out = await runCli(['user', 'add', 'nina', '--password-stdin'], { ...(await servicesFor(dir)), DATA_DIR: dir }, 'nina cli password\n');
      assert.equal(out.code, 0, out.stderr);
      assert.match(out.stdout, /^created user nina /);
      const t = await startApp({}, dir);
      try {
        const who = (await (await me(t, bearer(await login(t, 'nina', 'nina cli password')))).json()) as { role: string };
        assert.equal(who.role, 'user');
      } finally {
        await t.close();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('refuses a password that is too short and creates nobody', async () => {
    const dir = await makeDataDir();
    try {
      const out = await runCli(['user', 'add', 'oscar', '--password-stdin'], { ...(await servicesFor(dir)), DATA_DIR: dir }, 'short\n');
      assert.equal(out.code, 1);
      assert.match(out.stderr, /password must be/);
      const list = await runCli(['user', 'list'], { ...(await servicesFor(dir)), DATA_DIR: dir });
      assert.equal(list.code, 0, list.stderr);
      assert.equal(list.stdout, '');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
