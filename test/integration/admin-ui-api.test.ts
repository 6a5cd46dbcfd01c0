// The API behind the admin pages: users (add, role, disable, reset password, delete), invite links, the settings
// report, and the first-run path from the admin token to a user with a browser session and an API key.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startApp, TOKEN, type TestApp } from '../helpers/app.js';
import { bearer, createKey, expectProblem, json, login, registerRequest, signUp, type UserView } from '../helpers/accounts.js';
import { signInBrowser, signInRequest } from '../helpers/browser-session.js';

const NO_LIMITS = { RATE_LIMIT_LOGIN: '0', RATE_LIMIT_REGISTER: '0' };

describe('user management and settings for admins', () => {
  let t: TestApp;
  before(async () => {
    t = await startApp({ ...NO_LIMITS, CACHE_MAX_AGE: '120', UPLOAD_DIR: '/tmp/imgd-unused-alias-dir', JWT_SECRET: 'x'.repeat(40) });
  });
  after(() => t.close());

  const users = async (): Promise<Array<UserView & { disabled: boolean }>> =>
    ((await (await fetch(`${t.url}/api/v1/users`, { headers: t.auth })).json()) as { items: Array<UserView & { disabled: boolean }> }).items;
  const addUser = async (username: string, role = 'user'): Promise<UserView> => {
    const res = await fetch(`${t.url}/api/v1/users`, json({ username, email: `${username}@example.com`, password: `${username}-password-1`, role }, t.auth));
    assert.equal(res.status, 201, await res.clone().text());
    return (await res.json()) as UserView;
  };
  const patch = (id: string, body: unknown, headers: Record<string, string> = t.auth) =>
    fetch(`${t.url}/api/v1/users/${id}`, { ...json(body, headers), method: 'PATCH' });

  it('goes from the admin token to an admin user, signed in by cookie, with an API key of their own', async () => {
    const created = await addUser('root-admin', 'admin');
    assert.equal(created.role, 'admin');
    const browser = await signInBrowser(t, 'root-admin', 'root-admin-password-1');
    const res = await browser.fetch('/api/v1/api-keys', { method: 'POST', body: JSON.stringify({ name: 'laptop', scopes: ['read', 'upload', 'admin'] }), headers: { 'content-type': 'application/json' } });
    assert.equal(res.status, 201, await res.clone().text());
    const key = ((await res.json()) as { key: string; user_id: string }).key;
    const me = (await (await fetch(`${t.url}/api/v1/auth/me`, { headers: bearer(key) })).json()) as { username: string; role: string; credential: string };
    assert.deepEqual([me.username, me.role, me.credential], ['root-admin', 'admin', 'api_key']);
  });

  it('refuses every admin operation to a non-admin (403 forbidden) and to no credential (401), changing nothing', async () => {
    const victim = await addUser('victim');
    const { auth } = await signUp2('plain');
    const before = JSON.stringify(await users());
    const attempts: Array<[string, RequestInit]> = [
      ['/api/v1/users', json({ username: 'sneaky', email: 'sneaky@example.com', password: 'long enough pass' }, auth)],
      [`/api/v1/users/${victim.id}`, { ...json({ role: 'admin' }, auth), method: 'PATCH' }],
      [`/api/v1/users/${victim.id}`, { ...json({ disabled: true }, auth), method: 'PATCH' }],
      [`/api/v1/users/${victim.id}/password`, json({ password: 'a new long password' }, auth)],
      [`/api/v1/users/${victim.id}`, { method: 'DELETE', headers: auth }],
      ['/api/v1/admin/settings', { headers: auth }],
      ['/api/v1/invites', json({}, auth)],
    ];
    for (const [path, init] of attempts) {
      await expectProblem(await fetch(`${t.url}${path}`, init), 403, 'forbidden');
      const { authorization: _drop, ...rest } = (init.headers ?? {}) as Record<string, string>;
      await expectProblem(await fetch(`${t.url}${path}`, { ...init, headers: rest }), 401, 'unauthorized');
    }
    assert.equal(JSON.stringify(await users()), before);
    assert.equal((await signInRequest(t, 'victim', 'victim-password-1')).status, 200);
  });

  /** A user made by the admin, signed in with a bearer session. */
  async function signUp2(username: string) {
    const user = await addUser(username);
    return { user, auth: bearer(await login(t, username, `${username}-password-1`)) };
  }

  it('refuses bad input to add a user (400), a taken name (409), and stores nothing', async () => {
    await addUser('taken');
    const count = (await users()).length;
    await expectProblem(await fetch(`${t.url}/api/v1/users`, json({ username: 'taken', email: 'other@example.com', password: 'long enough pass' }, t.auth)), 409, 'conflict');
    await expectProblem(await fetch(`${t.url}/api/v1/users`, json({ username: 'x', email: 'x@example.com', password: 'long enough pass' }, t.auth)), 400, 'validation_failed');
    await expectProblem(await fetch(`${t.url}/api/v1/users`, json({ username: 'newbie', email: 'newbie@example.com', password: 'short' }, t.auth)), 400, 'validation_failed');
    await expectProblem(await fetch(`${t.url}/api/v1/users`, json({ username: 'newbie', email: 'n@example.com', password: 'long enough pass', role: 'owner' }, t.auth)), 400, 'validation_failed');
    assert.equal((await users()).length, count);
  });

  it('changes a role, and refuses an unknown user (404), an empty change or an unknown field (400)', async () => {
    const u = await addUser('promoted');
    const res = await patch(u.id, { role: 'admin' });
    assert.equal(res.status, 200);
    assert.equal(((await res.json()) as UserView).role, 'admin');
    await expectProblem(await patch('no-such-user', { role: 'admin' }), 404, 'not_found');
    await expectProblem(await patch(u.id, {}), 400, 'validation_failed');
    await expectProblem(await patch(u.id, { role: 'user', owner: true }), 400, 'validation_failed');
    assert.equal((await users()).find((x) => x.id === u.id)!.role, 'admin');
  });

  it('disables a user: no sign-in, their browser session, bearer session and API key are refused; enabling lets them back', async () => {
    const u = await addUser('dora');
    const browser = await signInBrowser(t, 'dora', 'dora-password-1');
    const jwt = await login(t, 'dora', 'dora-password-1');
    const key = (await createKey(t, bearer(jwt), ['read'])).key;
    const res = await patch(u.id, { disabled: true });
    assert.equal(res.status, 200);
    assert.equal(((await res.json()) as { disabled: boolean }).disabled, true);
    await expectProblem(await signInRequest(t, 'dora', 'dora-password-1'), 403, 'forbidden');
    await expectProblem(await browser.fetch('/api/v1/auth/me', { csrf: false }), 401, 'unauthorized');
    await expectProblem(await fetch(`${t.url}/api/v1/auth/me`, { headers: bearer(jwt) }), 401, 'unauthorized');
    await expectProblem(await fetch(`${t.url}/api/v1/auth/me`, { headers: bearer(key) }), 401, 'unauthorized');
    assert.equal((await patch(u.id, { disabled: false })).status, 200);
    assert.equal((await fetch(`${t.url}/api/v1/auth/me`, { headers: bearer(key) })).status, 200);
    assert.equal((await signInRequest(t, 'dora', 'dora-password-1')).status, 200);
  });

  it('refuses an admin disabling themselves (409 conflict), leaving the role untouched too', async () => {
    const me = await addUser('self-admin', 'admin');
    const browser = await signInBrowser(t, 'self-admin', 'self-admin-password-1');
    const res = await browser.fetch(`/api/v1/users/${me.id}`, { method: 'PATCH', body: JSON.stringify({ role: 'user', disabled: true }), headers: { 'content-type': 'application/json' } });
    await expectProblem(res, 409, 'conflict');
    const stored = (await users()).find((x) => x.id === me.id)!;
    assert.deepEqual([stored.role, stored.disabled], ['admin', false]);
  });

  it('resets a password: the old one fails, the user\'s sessions end, the new one works; refuses a short one (400) or an unknown user (404)', async () => {
    const u = await addUser('rita');
    const browser = await signInBrowser(t, 'rita', 'rita-password-1');
    await expectProblem(await fetch(`${t.url}/api/v1/users/${u.id}/password`, json({ password: 'short' }, t.auth)), 400, 'validation_failed');
    await expectProblem(await fetch(`${t.url}/api/v1/users/nobody/password`, json({ password: 'a brand new password' }, t.auth)), 404, 'not_found');
    assert.equal((await browser.fetch('/api/v1/auth/me', { csrf: false })).status, 200, 'refused resets end nothing');
    const res = await fetch(`${t.url}/api/v1/users/${u.id}/password`, json({ password: 'a brand new password' }, t.auth));
    assert.equal(res.status, 204);
    await expectProblem(await browser.fetch('/api/v1/auth/me', { csrf: false }), 401, 'unauthorized');
    await expectProblem(await signInRequest(t, 'rita', 'rita-password-1'), 401, 'unauthorized');
    assert.equal((await signInRequest(t, 'rita', 'a brand new password')).status, 200);
  });

  it('deletes a user and their browser sessions; refuses an unknown user (404)', async () => {
    const u = await addUser('gone');
    const browser = await signInBrowser(t, 'gone', 'gone-password-1');
    await expectProblem(await fetch(`${t.url}/api/v1/users/nobody`, { method: 'DELETE', headers: t.auth }), 404, 'not_found');
    assert.equal((await fetch(`${t.url}/api/v1/users/${u.id}`, { method: 'DELETE', headers: t.auth })).status, 204);
    assert.ok(!(await users()).some((x) => x.id === u.id));
    assert.equal((await t.app.db.selectFrom('browser_sessions').select('id').where('user_id', '=', u.id).execute()).length, 0);
    await expectProblem(await browser.fetch('/api/v1/auth/me', { csrf: false }), 401, 'unauthorized');
  });

  it('shows the effective settings with where each came from, secrets masked', async () => {
    const res = await fetch(`${t.url}/api/v1/admin/settings`, { headers: t.auth });
    assert.equal(res.status, 200);
    const text = await res.text();
    assert.ok(!text.includes(TOKEN) && !text.includes('x'.repeat(40)), 'no secret in the answer');
    const items = new Map(((JSON.parse(text) as { items: Array<{ name: string; value: unknown; source: string; from: string | null; secret: boolean; note?: string }> }).items).map((i) => [i.name, i]));
    assert.deepEqual(items.get('AUTH_TOKEN'), { name: 'AUTH_TOKEN', value: '********', source: 'env', from: 'AUTH_TOKEN', secret: true });
    assert.deepEqual(items.get('JWT_SECRET')?.value, '********');
    assert.deepEqual([items.get('CACHE_MAX_AGE')?.value, items.get('CACHE_MAX_AGE')?.source], [120, 'env']);
    assert.deepEqual([items.get('STORAGE_DIR')?.source, items.get('STORAGE_DIR')?.from], ['env', 'UPLOAD_DIR']);
    assert.deepEqual([items.get('SESSION_LIFETIME')?.value, items.get('SESSION_LIFETIME')?.source], [30 * 86_400, 'default']);
    assert.equal(items.get('UPLOAD_TOKEN_SECRET')?.value, null);
  });
});

describe('invite links', () => {
  let t: TestApp;
  before(async () => {
    t = await startApp(NO_LIMITS);
  });
  after(() => t.close());

  const invite = async (role = 'user'): Promise<{ invite: string; url: string }> => {
    const res = await fetch(`${t.url}/api/v1/invites`, json({ role }, t.auth));
    assert.equal(res.status, 201);
    return (await res.json()) as { invite: string; url: string };
  };
  const userCount = async () => ((await (await fetch(`${t.url}/api/v1/users`, { headers: t.auth })).json()) as { items: unknown[] }).items.length;
  const registerWith = (username: string, code: string) =>
    registerRequest(t, { username, email: `${username}@example.com`, password: 'long enough password', invite: code });

  it('gives a sign-up link that registers one person even though registration is closed, once', async () => {
    const { invite: code, url } = await invite();
    assert.equal(url, `${t.url}/app/register?invite=${encodeURIComponent(code)}`);
    assert.equal((await registerWith('invited', code)).status, 201);
    const count = await userCount();
    await expectProblem(await registerWith('second', code), 403, 'forbidden');
    assert.equal(await userCount(), count);
  });

  it('refuses an expired invite (403 forbidden) and creates no user', async () => {
    const { invite: code } = await invite();
    await t.app.db.updateTable('invites').set({ expires_at: new Date(Date.now() - 1000).toISOString() }).where('used_at', 'is', null).execute();
    const count = await userCount();
    await expectProblem(await registerWith('late', code), 403, 'forbidden');
    assert.equal(await userCount(), count);
  });

  it('still refuses registration without an invite while closed', async () => {
    const count = await userCount();
    await expectProblem(await registerRequest(t, { username: 'walkin', email: 'walkin@example.com', password: 'long enough password' }), 403, 'forbidden');
    assert.equal(await userCount(), count);
  });
});

describe('ShareX and Flameshot configurations', () => {
  let t: TestApp;
  before(async () => {
    t = await startApp({ ...NO_LIMITS, REGISTRATION: 'open' });
  });
  after(() => t.close());

  it('answers a .sxcu carrying the requesting key, which uploads with the fields it names', async () => {
    const { auth } = await signUp(t, 'shirley');
    const { key } = await createKey(t, auth, ['read', 'upload'], 'ShareX');
    const res = await fetch(`${t.url}/api/v1/integrations/sharex`, { headers: bearer(key) });
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-disposition') ?? '', /^attachment; filename="imgd-127\.0\.0\.1_\d+\.sxcu"$/);
    assert.equal(res.headers.get('cache-control'), 'no-store', 'it holds the key');
    const sxcu = (await res.json()) as { RequestURL: string; RequestMethod: string; FileFormName: string; Headers: Record<string, string>; Body: string; URL: string };
    assert.equal(sxcu.Body, 'MultipartFormData');
    const form = new FormData();
    form.append(sxcu.FileFormName, new Blob([Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==', 'base64')], { type: 'image/png' }), 'shot.png');
    const upload = await fetch(sxcu.RequestURL, { method: sxcu.RequestMethod, headers: sxcu.Headers, body: form });
    assert.equal(upload.status, 201, await upload.clone().text());
    const image = (await upload.json()) as Record<string, unknown>;
    assert.equal(sxcu.URL, '{json:url}');
    assert.match(String(image.url), /^http:\/\/127\.0\.0\.1:\d+\/i\//);
  });

  it('answers a Flameshot script with the key and endpoint, shell-quoted', async () => {
    const { auth } = await signUp(t, 'fleur');
    const { key } = await createKey(t, auth, ['upload'], 'Flameshot');
    const res = await fetch(`${t.url}/api/v1/integrations/flameshot`, { headers: bearer(key) });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'text/x-shellscript; charset=utf-8');
    assert.equal(res.headers.get('cache-control'), 'no-store', 'it holds the key');
    const script = await res.text();
    assert.ok(script.startsWith('#!/bin/sh\n'));
    assert.ok(script.includes(`IMGD_KEY='${key}'`));
    assert.ok(script.includes(`IMGD_URL='${t.url}/api/v1/images'`));
  });

  it('refuses anything but an upload-scoped API key: a session (403), a read-only key (403), nothing (401)', async () => {
    const { auth } = await signUp(t, 'nora');
    const readOnly = (await createKey(t, auth, ['read'])).key;
    for (const path of ['/api/v1/integrations/sharex', '/api/v1/integrations/flameshot']) {
      await expectProblem(await fetch(`${t.url}${path}`, { headers: auth }), 403, 'forbidden');
      await expectProblem(await fetch(`${t.url}${path}`, { headers: bearer(readOnly) }), 403, 'forbidden');
      await expectProblem(await fetch(`${t.url}${path}`, { headers: t.auth }), 403, 'forbidden');
      await expectProblem(await fetch(`${t.url}${path}`), 401, 'unauthorized');
    }
  });

  it('lists every new operation in the OpenAPI document with an operationId', async () => {
    const doc = (await (await fetch(`${t.url}/openapi.json`)).json()) as { paths: Record<string, Record<string, { operationId?: string; responses: Record<string, unknown> }>> };
    const expected: Array<[string, string, string]> = [
      ['/api/v1/auth/session', 'post', 'signIn'],
      ['/api/v1/auth/session', 'delete', 'signOut'],
      ['/api/v1/auth/sessions', 'get', 'listSessions'],
      ['/api/v1/auth/sessions', 'delete', 'revokeAllSessions'],
      ['/api/v1/auth/sessions/{id}', 'delete', 'revokeSession'],
      ['/api/v1/users', 'post', 'createUser'],
      ['/api/v1/users/{id}', 'patch', 'updateUser'],
      ['/api/v1/users/{id}', 'delete', 'deleteUser'],
      ['/api/v1/users/{id}/password', 'post', 'resetUserPassword'],
      ['/api/v1/admin/settings', 'get', 'getSettings'],
      ['/api/v1/integrations/sharex', 'get', 'getSharexConfig'],
      ['/api/v1/integrations/flameshot', 'get', 'getFlameshotScript'],
    ];
    for (const [path, method, id] of expected) {
      const op = doc.paths[path]?.[method];
      assert.equal(op?.operationId, id, `${method} ${path}`);
      assert.ok(Object.keys(op.responses).some((s) => s.startsWith('4')), `${id} documents its errors`);
    }
  });
});
