import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { loadConfig } from '../../src/config.js';
import { startApp, type TestApp } from '../helpers/app.js';
import { bearer, expectProblem, json, login, register, signUp } from '../helpers/accounts.js';
import { cookiesOf, signInBrowser, signInRequest } from '../helpers/browser-session.js';

const OPEN = { REGISTRATION: 'open', RATE_LIMIT_LOGIN: '0', RATE_LIMIT_REGISTER: '0' };

describe('browser sessions (cookies)', () => {
  let t: TestApp;
  before(async () => {
    t = await startApp(OPEN);
  });
  after(() => t.close());

  const sessionRows = async (userId: string) => t.app.db.selectFrom('browser_sessions').selectAll().where('user_id', '=', userId).execute();
  const keyCount = async (userId: string) => (await t.app.db.selectFrom('api_keys').select('id').where('user_id', '=', userId).execute()).length;

  it('signs in with an HttpOnly, SameSite=Lax session cookie (not Secure over plain http) and stores only its hash', async () => {
    const user = await register(t, 'sara');
    const res = await signInRequest(t, 'sara', 'sara-password-1');
    assert.equal(res.status, 200);
    const cookies = cookiesOf(res);
    const session = cookies.get('imgd_session')!;
    assert.ok(session.value.startsWith('imgd_s_'));
    assert.ok(session.attributes.includes('HttpOnly'));
    assert.ok(session.attributes.includes('SameSite=Lax'));
    assert.ok(session.attributes.includes('Path=/'));
    assert.ok(session.attributes.includes(`Max-Age=${30 * 86_400}`));
    assert.ok(!session.attributes.includes('Secure'));
    assert.ok(!cookies.get('imgd_csrf')!.attributes.includes('HttpOnly'), 'the page reads the CSRF cookie');
    const rows = await sessionRows(user.id);
    assert.equal(rows.length, 1);
    assert.notEqual(rows[0]!.hash, session.value);
    assert.ok(!JSON.stringify(rows).includes(session.value));
    assert.equal(rows[0]!.user_agent, 'test-browser/1.0');
  });

  it('marks the cookie Secure when a trusted proxy says the browser came over https', async () => {
    const proxied = await startApp({ ...OPEN, TRUST_PROXY: 'true' });
    try {
      await register(proxied, 'tess');
      const res = await signInRequest(proxied, 'tess', 'tess-password-1', { 'x-forwarded-proto': 'https' });
      assert.equal(res.status, 200);
      for (const name of ['imgd_session', 'imgd_csrf']) assert.ok(cookiesOf(res).get(name)!.attributes.includes('Secure'), name);
    } finally {
      await proxied.close();
    }
  });

  it('refuses a wrong password with 401 unauthorized, sets no cookie and stores no session', async () => {
    const user = await register(t, 'uma');
    const res = await signInRequest(t, 'uma', 'not-her-password');
    await expectProblem(res, 401, 'unauthorized');
    assert.equal(res.headers.getSetCookie().length, 0);
    assert.equal((await sessionRows(user.id)).length, 0);
  });

  it('refuses a sign-in without a password with 400 validation_failed', async () => {
    const res = await fetch(`${t.url}/api/v1/auth/session`, json({ username: 'uma' }));
    await expectProblem(res, 400, 'validation_failed');
  });

  it('authenticates every request that carries the cookie (any tab), and reads it as anonymous once it is gone', async () => {
    await register(t, 'vera');
    const browser = await signInBrowser(t, 'vera', 'vera-password-1');
    for (let tab = 0; tab < 2; tab++) {
      const me = await browser.fetch('/api/v1/auth/me', { csrf: false });
      assert.equal(me.status, 200);
      assert.equal(((await me.json()) as { username: string }).username, 'vera');
    }
    const forged = await fetch(`${t.url}/api/v1/auth/me`, { headers: { cookie: 'imgd_session=imgd_s_not-a-real-session' } });
    await expectProblem(forged, 401, 'unauthorized');
    assert.ok(forged.headers.getSetCookie().some((c) => c.startsWith('imgd_session=;')), 'an unknown session cookie is dropped');
  });

  it('refuses a state-changing cookie request without the CSRF header, with a wrong one, or sent from another site (403 csrf_failed), and changes nothing', async () => {
    const user = await register(t, 'wren');
    const browser = await signInBrowser(t, 'wren', 'wren-password-1');
    const create = (csrf: boolean | string, extra: Record<string, string> = {}) =>
      browser.fetch('/api/v1/api-keys', { method: 'POST', body: JSON.stringify({ name: 'k', scopes: ['read'] }), csrf, headers: { 'content-type': 'application/json', ...extra } });
    await expectProblem(await create(false), 403, 'csrf_failed');
    await expectProblem(await create('A'.repeat(43)), 403, 'csrf_failed');
    await expectProblem(await create(true, { 'sec-fetch-site': 'cross-site' }), 403, 'csrf_failed');
    const revokeAll = await browser.fetch('/api/v1/auth/sessions', { method: 'DELETE', csrf: false });
    await expectProblem(revokeAll, 403, 'csrf_failed');
    assert.equal(await keyCount(user.id), 0);
    assert.equal((await sessionRows(user.id)).length, 1);
    // Another user's CSRF token does not fit this session either.
    await register(t, 'xena');
    const other = await signInBrowser(t, 'xena', 'xena-password-1');
    await expectProblem(await create(other.csrf), 403, 'csrf_failed');
    assert.equal(await keyCount(user.id), 0);

    const made = await create(true, { 'sec-fetch-site': 'same-origin' });
    assert.equal(made.status, 201, await made.text());
    assert.equal(await keyCount(user.id), 1);
  });

  it('leaves bearer requests alone: no CSRF header needed, and a bearer credential wins over a cookie', async () => {
    const { auth, user } = await signUp(t, 'yara');
    const made = await fetch(`${t.url}/api/v1/api-keys`, json({ name: 'bearer', scopes: ['read'] }, auth));
    assert.equal(made.status, 201);
    await register(t, 'zoe');
    const zoe = await signInBrowser(t, 'zoe', 'zoe-password-1');
    const me = await fetch(`${t.url}/api/v1/auth/me`, { headers: { ...zoe.headers({ csrf: false }), ...auth } });
    assert.equal(((await me.json()) as { id: string }).id, user.id);
  });

  it('lists your sessions with the current one marked, and never another user\'s', async () => {
    const user = await register(t, 'abby');
    const first = await signInBrowser(t, 'abby', 'abby-password-1');
    const second = await signInBrowser(t, 'abby', 'abby-password-1');
    await register(t, 'bert');
    await signInBrowser(t, 'bert', 'bert-password-1');
    const res = await second.fetch('/api/v1/auth/sessions');
    assert.equal(res.status, 200);
    const items = ((await res.json()) as { items: Array<{ id: string; current: boolean; expires_at: string; user_agent: string }> }).items;
    assert.equal(items.length, 2);
    assert.equal(items.filter((s) => s.current).length, 1);
    const rows = await sessionRows(user.id);
    assert.deepEqual(new Set(items.map((s) => s.id)), new Set(rows.map((r) => r.id)));
    assert.ok(Date.parse(items[0]!.expires_at) <= Date.now() + 7 * 86_400_000 + 1000, 'idle timeout of 7 days by default');
    assert.equal((await first.fetch('/api/v1/auth/me', { csrf: false })).status, 200);
  });

  it('refuses to revoke another user\'s session (404 not_found, it keeps working) and revokes your own', async () => {
    await register(t, 'cora');
    const cora = await signInBrowser(t, 'cora', 'cora-password-1');
    const dave = await register(t, 'dave');
    const daveBrowser = await signInBrowser(t, 'dave', 'dave-password-1');
    const [daveSession] = await sessionRows(dave.id);
    await expectProblem(await cora.fetch(`/api/v1/auth/sessions/${daveSession!.id}`, { method: 'DELETE' }), 404, 'not_found');
    assert.equal((await daveBrowser.fetch('/api/v1/auth/me', { csrf: false })).status, 200);
    const laptop = await signInBrowser(t, 'dave', 'dave-password-1');
    const revoked = await laptop.fetch(`/api/v1/auth/sessions/${daveSession!.id}`, { method: 'DELETE' });
    assert.equal(revoked.status, 204);
    await expectProblem(await daveBrowser.fetch('/api/v1/auth/me', { csrf: false }), 401, 'unauthorized');
    assert.equal((await laptop.fetch('/api/v1/auth/me', { csrf: false })).status, 200);
  });

  it('refuses session management with an API key (403 forbidden) or no credential (401)', async () => {
    const { auth } = await signUp(t, 'edna');
    const key = ((await (await fetch(`${t.url}/api/v1/api-keys`, json({ name: 'k', scopes: ['read'] }, auth))).json()) as { key: string }).key;
    await expectProblem(await fetch(`${t.url}/api/v1/auth/sessions`, { headers: bearer(key) }), 403, 'forbidden');
    await expectProblem(await fetch(`${t.url}/api/v1/auth/sessions`, { method: 'DELETE', headers: bearer(key) }), 403, 'forbidden');
    await expectProblem(await fetch(`${t.url}/api/v1/auth/sessions`), 401, 'unauthorized');
  });

  it('signs one browser out, dropping its cookies', async () => {
    const user = await register(t, 'fay');
    const browser = await signInBrowser(t, 'fay', 'fay-password-1');
    const res = await browser.fetch('/api/v1/auth/session', { method: 'DELETE' });
    assert.equal(res.status, 204);
    assert.ok(res.headers.getSetCookie().some((c) => c.startsWith('imgd_session=;')));
    assert.equal((await sessionRows(user.id)).length, 0);
    await expectProblem(await browser.fetch('/api/v1/auth/me', { csrf: false }), 401, 'unauthorized');
  });

  it('signs out everywhere: every cookie session and bearer session token of the user ends, others\' do not', async () => {
    const user = await register(t, 'gail');
    const a = await signInBrowser(t, 'gail', 'gail-password-1');
    const b = await signInBrowser(t, 'gail', 'gail-password-1');
    const jwt = await login(t, 'gail', 'gail-password-1');
    await register(t, 'hugo');
    const hugo = await signInBrowser(t, 'hugo', 'hugo-password-1');
    const res = await a.fetch('/api/v1/auth/sessions', { method: 'DELETE' });
    assert.equal(res.status, 204);
    assert.equal((await sessionRows(user.id)).length, 0);
    await expectProblem(await b.fetch('/api/v1/auth/me', { csrf: false }), 401, 'unauthorized');
    await expectProblem(await fetch(`${t.url}/api/v1/auth/me`, { headers: bearer(jwt) }), 401, 'unauthorized');
    assert.equal((await hugo.fetch('/api/v1/auth/me', { csrf: false })).status, 200);
  });

  it('ends a session idle past SESSION_IDLE_TIMEOUT, or past SESSION_LIFETIME however busy, and removes it', async () => {
    const user = await register(t, 'iris');
    const idle = await signInBrowser(t, 'iris', 'iris-password-1');
    const busy = await signInBrowser(t, 'iris', 'iris-password-1');
    const [older, newer] = (await sessionRows(user.id)).sort((x, y) => x.created_at.localeCompare(y.created_at));
    const daysAgo = (d: number) => new Date(Date.now() - d * 86_400_000).toISOString();
    await t.app.db.updateTable('browser_sessions').set({ last_seen_at: daysAgo(8) }).where('id', '=', older!.id).execute();
    await t.app.db.updateTable('browser_sessions').set({ expires_at: daysAgo(0.001) }).where('id', '=', newer!.id).execute();
    await expectProblem(await idle.fetch('/api/v1/auth/me', { csrf: false }), 401, 'unauthorized');
    await expectProblem(await busy.fetch('/api/v1/auth/me', { csrf: false }), 401, 'unauthorized');
    assert.equal((await sessionRows(user.id)).length, 0);
  });

  it('slides: a used session records its last use, which moves its end', async () => {
    const user = await register(t, 'jade');
    const browser = await signInBrowser(t, 'jade', 'jade-password-1');
    const twoDaysAgo = new Date(Date.now() - 2 * 86_400_000).toISOString();
    await t.app.db.updateTable('browser_sessions').set({ last_seen_at: twoDaysAgo }).where('user_id', '=', user.id).execute();
    assert.equal((await browser.fetch('/api/v1/auth/me', { csrf: false })).status, 200);
    const [row] = await sessionRows(user.id);
    assert.ok(Date.parse(row!.last_seen_at) > Date.now() - 60_000);
  });

  it('changing the password ends the other sessions and gives the changing browser a new one', async () => {
    const user = await register(t, 'kira');
    const here = await signInBrowser(t, 'kira', 'kira-password-1');
    const elsewhere = await signInBrowser(t, 'kira', 'kira-password-1');
    const wrong = await here.fetch('/api/v1/auth/password', { method: 'POST', body: JSON.stringify({ current_password: 'nope nope nope', new_password: 'kira-password-2' }), headers: { 'content-type': 'application/json' } });
    await expectProblem(wrong, 401, 'unauthorized');
    assert.equal((await sessionRows(user.id)).length, 2, 'a refused change ends nothing');
    const res = await here.fetch('/api/v1/auth/password', { method: 'POST', body: JSON.stringify({ current_password: 'kira-password-1', new_password: 'kira-password-2' }), headers: { 'content-type': 'application/json' } });
    assert.equal(res.status, 204);
    const renewed = cookiesOf(res).get('imgd_session')!.value;
    await expectProblem(await elsewhere.fetch('/api/v1/auth/me', { csrf: false }), 401, 'unauthorized');
    await expectProblem(await here.fetch('/api/v1/auth/me', { csrf: false }), 401, 'unauthorized');
    const me = await fetch(`${t.url}/api/v1/auth/me`, { headers: { cookie: `imgd_session=${renewed}` } });
    assert.equal(me.status, 200);
    assert.equal((await sessionRows(user.id)).length, 1);
  });

  it('reads SESSION_LIFETIME and SESSION_IDLE_TIMEOUT as seconds or with a unit, and refuses nonsense by name', () => {
    const config = loadConfig({ SESSION_LIFETIME: '12h', SESSION_IDLE_TIMEOUT: '3600' });
    assert.equal(config.auth.sessionLifetimeSeconds, 12 * 3600);
    assert.equal(config.auth.sessionIdleSeconds, 3600);
    assert.equal(loadConfig({ SESSION_LIFETIME: '90d' }).auth.sessionLifetimeSeconds, 90 * 86_400);
    assert.throws(() => loadConfig({ SESSION_IDLE_TIMEOUT: 'soon' }), /SESSION_IDLE_TIMEOUT="soon"/);
    assert.throws(() => loadConfig({ SESSION_LIFETIME: '10s' }), /SESSION_LIFETIME/);
  });
});
