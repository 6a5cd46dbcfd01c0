// Accounts in a real browser: the admin's first run (token, own account, API key, ShareX file that uploads), a cookie
// session shared by tabs and reloads, CSRF refused, user management, an invite link, sign-out everywhere, and every
// page touched here at 390 px without sideways scrolling.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import sharp from 'sharp';
import { fixture, TOKEN } from '../helpers/app.js';
import { waitFor } from '../helpers/wait.js';
import { browserMissing, closeUi, ConsoleErrors, newContext, openUi, Screenshots, WIDE, type Ui } from './browser.js';
import { sidewaysOverflow } from './in-page.js';

const ADMIN = { name: 'ada', email: 'ada@example.com', password: 'analytical engine 1843' };

interface UserJson {
  id: string;
  username: string;
  role: string;
  disabled: boolean;
}

describe('accounts in the web UI', { skip: browserMissing(), timeout: 180_000 }, () => {
  // Set by before(), as openUi opens them.
  let { t, browser, context, page } = {} as Ui;
  const errors = new ConsoleErrors();
  const shots = new Screenshots();
  const heading = (name: string | RegExp, on: Page = page) => on.getByRole('heading', { level: 1, name });
  const users = async (): Promise<UserJson[]> => ((await (await fetch(`${t.url}/api/v1/users`, { headers: t.auth })).json()) as { items: UserJson[] }).items;
  const signInForm = async (on: Page, username: string, password: string) => {
    await on.goto(`${t.url}/app/signin`);
    await on.getByLabel('Username').fill(username);
    await on.getByLabel('Password').fill(password);
    await on.getByRole('button', { name: 'Sign in' }).click();
  };

  // A fresh install as shipped: registration closed, only the admin token.
  before(async () => ({ t, browser, context, page } = await openUi(errors, { RATE_LIMIT_LOGIN: '0' })));
  after(() => closeUi({ t, browser }, shots));

  it('takes the admin from the token to their own account and an API key whose ShareX file uploads', async () => {
    await page.goto(`${t.url}/app/signin`);
    await page.getByText('Use a token instead').click();
    await page.getByLabel('Token').fill(TOKEN);
    await page.getByRole('button', { name: 'Use token' }).click();
    await heading('Upload images').waitFor();
    await page.getByRole('note').getByRole('link', { name: 'Create your account' }).click();
    await heading('Create your account').waitFor();
    await page.getByLabel('Username').fill(ADMIN.name);
    await page.getByLabel('Email').fill(ADMIN.email);
    await page.getByLabel('Password').fill(ADMIN.password);
    await page.getByRole('button', { name: 'Create my admin account' }).click();
    await heading('API keys').waitFor();
    await page.locator('.who').getByText(ADMIN.name).waitFor();
    assert.equal(await page.getByRole('note').count(), 0, 'no admin-token banner once signed in as the user');
    assert.deepEqual((await users()).map((u) => [u.username, u.role]), [[ADMIN.name, 'admin']]);

    const cookies = await context.cookies();
    const session = cookies.find((c) => c.name === 'imgd_session');
    assert.ok(session?.httpOnly, 'the session cookie is HttpOnly');
    assert.equal(session.sameSite, 'Lax');

    // One click: an upload key, and its .sxcu downloaded.
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Set up ShareX' }).click()]);
    assert.match(download.suggestedFilename(), /\.sxcu$/);
    const sxcu = JSON.parse(await readFile((await download.path())!, 'utf8')) as {
      RequestURL: string;
      RequestMethod: string;
      FileFormName: string;
      Headers: Record<string, string>;
      Body: string;
      URL: string;
    };
    assert.equal(sxcu.Body, 'MultipartFormData');
    const form = new FormData();
    form.append(sxcu.FileFormName, new Blob([await readFile(fixture('jpg/Canon_40D.jpg'))], { type: 'image/jpeg' }), 'from-sharex.jpg');
    const upload = await fetch(sxcu.RequestURL, { method: sxcu.RequestMethod, headers: sxcu.Headers, body: form });
    assert.equal(upload.status, 201, await upload.clone().text());
    const answer = (await upload.json()) as Record<string, unknown>;
    const url = String(answer[/^\{json:(\w+)\}$/.exec(sxcu.URL)![1]!]);
    assert.equal((await fetch(url)).status, 200, 'the URL ShareX would copy serves the screenshot');
    await page.locator('tr[data-key-name="ShareX"]').waitFor();

    await page.getByLabel('Name').fill('laptop');
    await page.getByRole('button', { name: 'Create key' }).click();
    const key = await page.locator('#new-key').inputValue();
    assert.match(key, /^imgd_k_/);
    await page.getByRole('button', { name: 'Flameshot script' }).waitFor();
  });

  it('keeps the session in a new tab and across a reload', async () => {
    const tab = await context.newPage();
    await tab.goto(`${t.url}/app/gallery`);
    await heading(/images/i, tab).waitFor();
    await tab.locator('.who').getByText(ADMIN.name).waitFor();
    await tab.reload();
    await tab.locator('.who').getByText(ADMIN.name).waitFor();
    assert.ok(!tab.url().includes('/app/signin'));
    await tab.close();
  });

  it('refuses a state-changing request that carries the cookie but not the CSRF token', async () => {
    const answer = await page.evaluate(async () => {
      const res = await fetch('/api/v1/api-keys', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'forged', scopes: ['read'] }) });
      return { status: res.status, body: (await res.json()) as { code: string } };
    });
    assert.deepEqual([answer.status, answer.body.code], [403, 'csrf_failed']);
    const keys = (await (await fetch(`${t.url}/api/v1/api-keys`, { headers: t.auth })).json()) as { items: Array<{ name: string }> };
    assert.ok(!keys.items.some((k) => k.name === 'forged'));
  });

  it('manages users: add, invite by link, change role, disable, reset a password, delete', async () => {
    await page.getByRole('navigation').getByRole('link', { name: 'Users' }).click();
    await heading('Users').waitFor();
    await page.getByLabel('Username').fill('bob');
    await page.getByLabel('Email').fill('bob@example.com');
    await page.getByLabel('Password', { exact: true }).fill('bob password 1');
    await page.getByRole('button', { name: 'Add user' }).click();
    const bob = page.locator('li[data-username="bob"]');
    await bob.waitFor();

    await bob.getByLabel('Role of bob').selectOption('admin');
    await bob.locator('.badge', { hasText: 'admin' }).waitFor();
    await bob.getByRole('button', { name: 'Disable' }).click();
    await bob.locator('.badge', { hasText: 'disabled' }).waitFor();
    const stored = (await users()).find((u) => u.username === 'bob')!;
    assert.deepEqual([stored.role, stored.disabled], ['admin', true]);
    await bob.getByRole('button', { name: 'Enable' }).click();
    await bob.getByRole('button', { name: 'Disable' }).waitFor();

    await bob.getByRole('button', { name: 'Reset password' }).click();
    await bob.getByLabel('New password for bob').fill('a fresh password');
    await bob.getByRole('button', { name: 'Set password', exact: true }).click();
    await bob.getByText('Password of bob reset').waitFor();
    const signIn = await fetch(`${t.url}/api/v1/auth/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'bob', password: 'a fresh password' }) });
    assert.equal(signIn.status, 200);

    await page.getByRole('button', { name: 'Make an invite link' }).click();
    const link = await page.locator('#invite-url').inputValue();
    assert.match(link, /\/app\/register\?invite=imgd_i_/);
    await shots.take(page, 'users', { fullPage: true, forDocs: true });

    await bob.getByRole('button', { name: 'Delete' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Delete user' }).click();
    await bob.waitFor({ state: 'detached' });
    assert.ok(!(await users()).some((u) => u.username === 'bob'));

    // The invite, opened by someone else in a browser of their own, although registration is closed.
    const guest = errors.watchContext(await newContext(browser, { viewport: WIDE }));
    const invited = await guest.newPage();
    await invited.goto(link);
    await invited.getByText('You have been invited').waitFor();
    await invited.getByLabel('Username').fill('carla');
    await invited.getByLabel('Email').fill('carla@example.com');
    await invited.getByLabel('Password').fill('carla password 1');
    await invited.getByRole('button', { name: 'Create account' }).click();
    await heading('Upload images', invited).waitFor();
    await guest.close();
    assert.ok((await users()).some((u) => u.username === 'carla'));
  });

  it('shows the effective settings with their sources, secrets masked', async () => {
    await page.getByRole('navigation').getByRole('link', { name: 'Settings' }).click();
    await heading('Settings').waitFor();
    const token = page.locator('.setting', { has: page.locator('dt', { hasText: /^AUTH_TOKEN$/ }) });
    assert.match(await token.innerText(), /\*{8}[\s\S]*environment/);
    assert.ok(!(await page.content()).includes(TOKEN));
  });

  it('uploads with the limits and paste hint in view, one progress display per file, and a damaged file refused in plain words', async () => {
    await page.getByRole('navigation').getByRole('link', { name: 'Upload' }).click();
    await heading('Upload images').waitFor();
    assert.match(await page.locator('#upload-limits').innerText(), /^Images up to 20\.0 MB each, 20 at a time .*paste an image anywhere/);
    assert.ok(await page.locator('#upload-limits').isVisible());
    const tiff = await sharp({ create: { width: 64, height: 48, channels: 3, background: '#3a7' } }).tiff({ compression: 'lzw' }).toBuffer();
    for (let i = 200; i < tiff.length - 200; i++) tiff[i] = (i * 31 + 7) & 0xff;
    await page.locator('.uppy-Dashboard-input').first().setInputFiles([
      { name: 'scan.tif', mimeType: 'image/tiff', buffer: tiff },
      { name: 'fine.jpg', mimeType: 'image/jpeg', buffer: await readFile(fixture('jpg/Nikon_D70.jpg')) },
    ]);
    await page.locator('.result[data-file="fine.jpg"][data-state="done"]').waitFor();
    const refused = page.locator('.result[data-file="scan.tif"][data-state="error"]');
    await refused.waitFor();
    const text = await refused.innerText();
    assert.match(text, /Not uploaded: The file is damaged or incomplete: it could not be read as an image\. corrupt_image/);
    assert.doesNotMatch(text, /vips|input buffer|tiff2vips/i);
    // Uppy's own progress (status bar, per-file bars) and its error bubbles over the drop zone are gone.
    assert.equal(await page.locator('.uppy-StatusBar').count(), 0);
    assert.equal(await page.locator('.uppy-Informer').count(), 0);
    const itemProgress = await page.evaluate(`(() => {
      const probe = document.createElement('div');
      probe.className = 'uppy-Dashboard-Item-progress';
      document.body.append(probe);
      const display = getComputedStyle(probe).display;
      probe.remove();
      return display;
    })()`);
    assert.equal(itemProgress, 'none');
    assert.equal(await page.locator('.result[data-file="fine.jpg"] progress').count(), 1);
  });

  it('lists the browsers signed in, and signs them all out everywhere', async () => {
    const other = errors.watchContext(await newContext(browser, { viewport: WIDE }));
    const laptop = await other.newPage();
    await signInForm(laptop, ADMIN.name, ADMIN.password);
    await heading('Upload images', laptop).waitFor();

    await page.getByRole('navigation').getByRole('link', { name: 'Account' }).click();
    await heading('Your account').waitFor();
    await page.locator('.session').nth(1).waitFor();
    assert.equal(await page.locator('.session').count(), 2);
    assert.equal(await page.locator('.session[data-current]').count(), 1);
    await shots.take(page, 'account', { fullPage: true, forDocs: true });

    await page.getByRole('button', { name: 'Sign out everywhere' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Sign out everywhere' }).click();
    await heading('Sign in to imgd').waitFor();
    await laptop.reload();
    await heading('Sign in to imgd', laptop).waitFor();
    await other.close();
    const ada = (await users()).find((u) => u.username === ADMIN.name)!;
    assert.equal((await t.app.db.selectFrom('browser_sessions').select('id').where('user_id', '=', ada.id).execute()).length, 0);
  });

  it('fits every page touched here on a 390 px phone, with Revoke on screen', async () => {
    const phone = errors.watchContext(await newContext(browser, { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, deviceScaleFactor: 2 }));
    const small = await phone.newPage();
    await signInForm(small, ADMIN.name, ADMIN.password);
    await heading('Upload images', small).waitFor();
    for (const [path, title] of [
      ['/app/upload', 'Upload images'],
      ['/app/keys', 'API keys'],
      ['/app/account', 'Your account'],
      ['/app/users', 'Users'],
      ['/app/settings', 'Settings'],
      ['/app/admin', 'Dashboard'],
      ['/app/welcome', 'Create your account'],
    ] as const) {
      await small.goto(`${t.url}${path}`);
      await heading(title, small).waitFor();
      await waitFor(`${path} to load`, async () => ((await small.getByText('Loading…').count()) === 0 ? true : undefined), 30_000);
      const overflow = await small.evaluate(sidewaysOverflow);
      assert.ok(overflow <= 0, `${path} scrolls sideways by ${overflow}px on a phone`);
    }
    await small.goto(`${t.url}/app/keys`);
    const revoke = small.getByRole('button', { name: 'Revoke laptop' });
    const box = await revoke.boundingBox();
    assert.ok(box && box.x >= 0 && box.x + box.width <= 390, `Revoke is on screen (${JSON.stringify(box)})`);
    await shots.take(small, 'phone-keys', { fullPage: true });
    await phone.close();
  });

  it('logged no console errors on any page', () => {
    assert.deepEqual(errors.seen, []);
  });
});
