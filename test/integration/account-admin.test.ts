// Deleting users, setting their passwords and roles: what goes with a user, what stays, and the last admin kept.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ImgdError } from '../../src/core/errors.js';
import { ANONYMOUS, type Actor } from '../../src/core/access/actor.js';
import { roleScopes } from '../../src/core/accounts/accounts.js';
import { fixture, startApp, type TestApp } from '../helpers/app.js';
import { bearer, createKey, login, signUp } from '../helpers/accounts.js';

const OPEN = { REGISTRATION: 'open', RATE_LIMIT_LOGIN: '0', RATE_LIMIT_REGISTER: '0' };

async function refusedWith(promise: Promise<unknown>, code: string): Promise<ImgdError> {
  const err = await promise.then(
    () => assert.fail(`expected ${code}`),
    (e: unknown) => e,
  );
  assert.ok(err instanceof ImgdError, String(err));
  assert.equal(err.code, code, err.message);
  return err;
}

async function status(t: TestApp, path: string, headers: Record<string, string>): Promise<number> {
  const res = await fetch(`${t.url}${path}`, { headers });
  await res.arrayBuffer();
  return res.status;
}

describe('deleting a user', () => {
  let t: TestApp;
  before(async () => {
    t = await startApp(OPEN);
  });
  after(() => t.close());

  it('revokes their keys and sessions, expires their upload tokens, and keeps their images without an owner', async () => {
    const bob = await signUp(t, 'bob');
    const key = await createKey(t, bob.auth, ['read', 'upload']);
    const minted = await fetch(`${t.url}/api/v1/upload-tokens`, {
      method: 'POST',
      headers: { ...bob.auth, 'content-type': 'application/json' },
      body: JSON.stringify({ expires_in: 600 }),
    });
    assert.equal(minted.status, 201);
    const uploadToken = ((await minted.json()) as { token: string }).token;
    const res = await t.upload([fixture('jpg/Canon_40D.jpg')], { visibility: 'public' }, bob.auth);
    assert.equal(res.status, 201);
    const image = (await res.json()) as { id: string; url: string };
    const json = { ...bob.auth, 'content-type': 'application/json' };
    const album = await fetch(`${t.url}/api/v1/albums`, { method: 'POST', headers: json, body: JSON.stringify({ name: 'trips' }) });
    assert.equal(album.status, 201);
    const albumId = ((await album.json()) as { id: string }).id;
    assert.equal((await fetch(`${t.url}/api/v1/albums/${albumId}/images/${image.id}`, { method: 'PUT', headers: bob.auth })).status, 204);
    const hook = await fetch(`${t.url}/api/v1/webhooks`, { method: 'POST', headers: json, body: JSON.stringify({ url: 'https://93.184.216.34/hook', events: ['image.created'] }) });
    assert.equal(hook.status, 201);
    const hookId = ((await hook.json()) as { id: string }).id;
    const browser = await fetch(`${t.url}/api/v1/auth/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'bob', password: bob.password }) });
    assert.equal(browser.status, 200);
    const cookie = browser.headers.getSetCookie().find((c) => c.startsWith('imgd_session='))?.split(';')[0] ?? '';
    assert.equal(await status(t, '/api/v1/auth/me', { cookie }), 200);

    const { user, images } = await t.app.accounts.deleteUser('cli', bob.user.id, null);
    assert.equal(user.username, 'bob');
    assert.equal(images, 1);

    assert.equal(await status(t, '/api/v1/auth/me', bob.auth), 401);
    assert.equal(await status(t, '/api/v1/auth/me', bearer(key.key)), 401);
    assert.equal(await t.app.accounts.userById(bob.user.id), undefined);
    const upload = await t.upload([fixture('jpg/Canon_40D.jpg')], {}, bearer(uploadToken));
    assert.equal(upload.status, 401);
    // The image stays, ownerless, for admins; its public URL still serves.
    const kept = await t.app.catalog.getImage(image.id);
    assert.equal(kept?.ownerId, null);
    assert.equal(await status(t, `/api/v1/images/${image.id}`, t.auth), 200);
    assert.equal((await fetch(image.url)).status, 200);
    // Their browser session ends; their webhooks go, secret and all; their albums stay with their images, ownerless.
    assert.equal(await status(t, '/api/v1/auth/me', { cookie }), 401);
    const hooks = (await (await fetch(`${t.url}/api/v1/webhooks`, { headers: t.auth })).json()) as { items: { id: string }[] };
    const hookIds = hooks.items.map((h) => h.id);
    assert.ok(!hookIds.includes(hookId), `webhook ${hookId} of a deleted user is still listed`);
    const keptAlbum = await fetch(`${t.url}/api/v1/albums/${albumId}`, { headers: t.auth });
    assert.equal(keptAlbum.status, 200);
    assert.equal(((await keptAlbum.json()) as { owner_id: string | null }).owner_id, null);
    const log = await t.app.accounts.auditLog({ kind: 'admin' }, 5);
    assert.ok(log.some((e) => e.action === 'user.delete' && e.target === bob.user.id && e.actor === 'cli'));
  });

  it('refuses to delete the last admin, and allows it once another admin exists', async () => {
    const root = await t.app.accounts.addUser({ username: 'root', email: 'root@example.com', password: 'root-password-1' }, 'admin');
    const err = await refusedWith(t.app.accounts.deleteUser('cli', root.id, null), 'conflict');
    assert.match(err.message, /no admin/);
    assert.ok(await t.app.accounts.userById(root.id));
    const second = await t.app.accounts.addUser({ username: 'root2', email: 'root2@example.com', password: 'root-password-2' }, 'admin');
    await t.app.accounts.deleteUser('cli', root.id, null);
    assert.equal(await t.app.accounts.userById(root.id), undefined);
    await refusedWith(t.app.accounts.deleteUser('cli', second.id, null), 'conflict');
  });

  it('answers not_found for an unknown user, and forbidden to a non-admin', async () => {
    await refusedWith(t.app.accounts.deleteUser('cli', 'no-such-id', null), 'not_found');
    const carol = await signUp(t, 'carol');
    const dave = await signUp(t, 'dave');
    const asCarol: Actor = { kind: 'user', user: carol.user as never, scopes: roleScopes('user'), apiKeyId: null };
    await refusedWith(t.app.accounts.deleteUser(asCarol, dave.user.id, null), 'forbidden');
    await refusedWith(t.app.accounts.deleteUser(ANONYMOUS, dave.user.id, null), 'unauthorized');
    assert.ok(await t.app.accounts.userById(dave.user.id));
  });
});

describe('setting a password', () => {
  let t: TestApp;
  before(async () => {
    t = await startApp(OPEN);
  });
  after(() => t.close());

  it('ends the user\'s sessions, keeps their API keys, and the new password signs in', async () => {
    const erin = await signUp(t, 'erin');
    const key = await createKey(t, erin.auth, ['read']);
    await t.app.accounts.setUserPassword('cli', erin.user.id, 'a brand new password', null);
    assert.equal(await status(t, '/api/v1/auth/me', erin.auth), 401);
    assert.equal(await status(t, '/api/v1/auth/me', bearer(key.key)), 200);
    await assert.rejects(login(t, 'erin', erin.password));
    const token = await login(t, 'erin', 'a brand new password');
    assert.equal(await status(t, '/api/v1/auth/me', bearer(token)), 200);
  });

  it('refuses a password that is too short, and changes nothing', async () => {
    const fay = await signUp(t, 'fay');
    const err = await refusedWith(t.app.accounts.setUserPassword('cli', fay.user.id, 'short', null), 'validation_failed');
    assert.equal(err.extra.field, 'password');
    assert.equal(await status(t, '/api/v1/auth/me', fay.auth), 200);
    await login(t, 'fay', fay.password);
  });

  it('answers not_found for an unknown user', async () => {
    await refusedWith(t.app.accounts.setUserPassword('cli', 'no-such-id', 'long enough password', null), 'not_found');
  });
});

describe('setting a role', () => {
  let t: TestApp;
  before(async () => {
    t = await startApp(OPEN);
  });
  after(() => t.close());

  it('makes a user an admin at their next request, and back', async () => {
    const gus = await signUp(t, 'gus');
    assert.equal(await status(t, '/api/v1/users', gus.auth), 403);
    const promoted = await t.app.accounts.setUserRole('cli', gus.user.id, 'admin', null);
    assert.equal(promoted.role, 'admin');
    assert.equal(await status(t, '/api/v1/users', gus.auth), 200);
    await t.app.accounts.addUser({ username: 'hal', email: 'hal@example.com', password: 'hal-password-1' }, 'admin');
    await t.app.accounts.setUserRole('cli', gus.user.id, 'user', null);
    assert.equal(await status(t, '/api/v1/users', gus.auth), 403);
  });

  it('refuses to demote the last admin', async () => {
    const hal = await t.app.accounts.userByName('hal');
    assert.ok(hal);
    const err = await refusedWith(t.app.accounts.setUserRole('cli', hal.id, 'user', null), 'conflict');
    assert.match(err.message, /no admin/);
    assert.equal((await t.app.accounts.userById(hal.id))?.role, 'admin');
  });

  it('refuses an unknown role and an unknown user', async () => {
    const gus = await t.app.accounts.userByName('gus');
    assert.ok(gus);
    await refusedWith(t.app.accounts.setUserRole('cli', gus.id, 'owner' as never, null), 'validation_failed');
    await refusedWith(t.app.accounts.setUserRole('cli', 'no-such-id', 'user', null), 'not_found');
    assert.equal((await t.app.accounts.userById(gus.id))?.role, 'user');
  });
});
