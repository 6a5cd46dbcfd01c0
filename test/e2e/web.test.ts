// The web UI in a real browser (Debian's chromium through playwright-core): sign-in, upload, gallery, detail,
// sharing, deleting, API keys, the per-key page, the dashboard and a phone-sized screen, with no console errors.
// IMGD_SCREENSHOTS=docs also writes the README's screenshots (docs/screenshot-*.png).
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import sharp from 'sharp';
import { fixture, startApp, TOKEN, type TestApp } from '../helpers/app.js';
import { bearer } from '../helpers/accounts.js';
import { waitFor } from '../helpers/wait.js';
import { browserMissing, buildClient, closeUi, ConsoleErrors, launchBrowser, newContext, openUi, Screenshots, WIDE, type Ui } from './browser.js';
import { clipboardText, dropAndPaste, firstImageWidth, picturesShown, partialProgress, privateImageShown, sidewaysOverflow, watchProgress } from './in-page.js';

const USER = { name: 'maria', email: 'maria@example.com', password: 'correct horse battery' };
const PHOTOS = ['jpg/gps/DSCN0010.jpg', 'jpg/Canon_40D.jpg', 'jpg/Nikon_D70.jpg', 'jpg/orientation/landscape_1.jpg'].map(fixture);
const NOT_AN_IMAGE = { name: 'notes.jpg', mimeType: 'image/jpeg', buffer: Buffer.from('these are words, not pixels\n'.repeat(20)) };

interface ImageJson {
  id: string;
  url: string;
  original_name: string;
  status: string;
  visibility: string;
  description: string | null;
  key: string | null;
}

describe('the web UI', { skip: browserMissing(), timeout: 180_000 }, () => {
  // Set by before(), as openUi opens them.
  let { t, browser, context, page } = {} as Ui;
  const errors = new ConsoleErrors();
  const shots = new Screenshots();

  /** The user's images as the API sees them (as the admin). */
  const images = async (query = ''): Promise<ImageJson[]> => {
    const res = await fetch(`${t.url}/api/v1/images?limit=100${query}`, { headers: t.auth });
    return ((await res.json()) as { items: ImageJson[] }).items;
  };
  const ready = async (name: string): Promise<ImageJson> => {
    for (;;) {
      const found = (await images()).find((i) => i.original_name === name);
      if (found && found.status !== 'processing') return found;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  };
  const go = (path: string) => page.goto(`${t.url}${path}`);
  /** Waits until the selector finds exactly n elements. */
  const count = (selector: string, n: number, on: Page = page) =>
    waitFor(`${n} × ${selector}`, async () => ((await on.locator(selector).count()) === n ? true : undefined), 30_000);
  const heading = (name: string | RegExp) => page.getByRole('heading', { level: 1, name });

  before(async () => ({ t, browser, context, page } = await openUi(errors, { REGISTRATION: 'open' }, (ctx, app) => ctx.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: app.url }))));
  after(() => closeUi({ t, browser }, shots));

  it('sends a visitor to sign in, and lets them register where registration is open', async () => {
    await go('/app/gallery');
    await heading('Sign in to imgd').waitFor();
    assert.match(page.url(), /\/app\/signin\?next=%2Fapp%2Fgallery$/);
    await page.getByRole('link', { name: 'Create an account' }).click();
    await page.getByLabel('Username').fill(USER.name);
    await page.getByLabel('Email').fill(USER.email);
    await page.getByLabel('Password').fill(USER.password);
    await page.getByRole('button', { name: 'Create account' }).click();
    await heading('Upload images').waitFor();
    await page.getByText(USER.name, { exact: true }).waitFor();
  });

  it('signs out, refuses a wrong password with the reason, and signs in with the right one using the keyboard', async () => {
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByText('You have signed out.').waitFor();
    await page.getByLabel('Username').fill(USER.name);
    await page.getByLabel('Password').fill('not the password');
    await page.getByLabel('Password').press('Enter');
    const alert = page.locator('#signin-error');
    await alert.waitFor();
    assert.match(await alert.innerText(), /password/i);
    await page.getByLabel('Password').fill(USER.password);
    await page.getByLabel('Password').press('Enter');
    await heading('Upload images').waitFor();
    await shots.take(page, 'signed-in');
  });

  it('uploads several real photos from the picker with a progress bar each, and says why a file was refused', async () => {
    // A slow uplink, so that each file's progress is seen between 0 and 100.
    const cdp = await context.newCDPSession(page);
    await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 20, downloadThroughput: -1, uploadThroughput: 150 * 1024 });
    await page.evaluate(watchProgress);
    await page.getByLabel('Description (optional)').fill('Holiday');
    const photos = await Promise.all(PHOTOS.map(async (file) => ({ name: file.split('/').at(-1) ?? '', mimeType: 'image/jpeg', buffer: await readFile(file) })));
    await page.locator('.uppy-Dashboard-input').first().setInputFiles([...photos, NOT_AN_IMAGE]);
    const results = page.locator('.result');
    await count('.result[data-state="done"]', PHOTOS.length);
    await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: -1 });
    assert.equal(await results.count(), PHOTOS.length + 1);

    const partial = await page.evaluate(partialProgress);
    assert.ok(partial.includes('DSCN0010.jpg'), `progress between 0 and 100% was shown for the large photo (seen for: ${partial.join(', ')})`);
    for (const row of await page.locator('.result[data-state="done"] progress').all()) assert.equal(await row.getAttribute('value'), '100');

    const refused = page.locator('.result[data-file="notes.jpg"]');
    await page.locator('.result[data-file="notes.jpg"][data-state="error"]').waitFor();
    assert.match(await refused.innerText(), /Not uploaded: The file is not an image in a format this server accepts\. unsupported_format/);
    await page.waitForFunction(picturesShown, '.result.done');
    await shots.take(page, 'upload', { fullPage: true, forDocs: true });

    const stored = await images();
    assert.deepEqual(stored.map((i) => i.original_name).sort(), PHOTOS.map((p) => p.split('/').at(-1)).sort());
    assert.ok(stored.every((i) => i.description === 'Holiday' && i.key === null && i.visibility === 'public'), JSON.stringify(stored));
  });

  it('copies an uploaded image as URL, Markdown, HTML and BBCode', async () => {
    const row = page.locator('.result[data-file="Canon_40D.jpg"]');
    const image = (await images()).find((i) => i.original_name === 'Canon_40D.jpg');
    assert.ok(image);
    const expected: Record<string, RegExp> = {
      URL: new RegExp(`^${image.url}$`),
      Markdown: new RegExp(`^!\\[Canon_40D\\.jpg\\]\\(${image.url}\\)$`),
      HTML: new RegExp(`^<img src="${image.url}" alt="Holiday" width="\\d+" height="\\d+">$`),
      BBCode: new RegExp(`^\\[img\\]${image.url}\\[/img\\]$`),
    };
    for (const [label, pattern] of Object.entries(expected)) {
      const button = row.getByRole('button', { name: `Copy ${label} of Canon_40D.jpg` });
      await button.click();
      await button.getByText('Copied').waitFor();
      assert.match(await page.evaluate(clipboardText), pattern, label);
    }
  });

  it('takes images dropped on the dashboard and pasted into the page', async () => {
    const [drop, paste] = await Promise.all([readFile(fixture('jpg/gps/DSCN0021.jpg')), readFile(fixture('jpg/gps/DSCN0025.jpg'))]);
    await page.evaluate(dropAndPaste, [drop.toString('base64'), paste.toString('base64')] as const);
    for (const name of ['dropped.jpg', 'pasted.jpg']) {
      await page.locator(`.result[data-file="${name}"][data-state="done"]`).waitFor({ timeout: 15_000 });
    }
  });

  it('shows the gallery with ThumbHash placeholders, and searches it by name, key and description', async () => {
    await ready('DSCN0010.jpg');
    await ready('pasted.jpg');
    await page.getByRole('link', { name: 'Gallery' }).click();
    await heading('Your images').waitFor();
    const tiles = page.locator('.grid .tile');
    await count('.grid .tile', 6);
    assert.ok((await page.locator('.tile [data-placeholder="thumbhash"]').count()) >= 5, 'processed images have a placeholder');
    await page.waitForFunction(picturesShown, '.grid');
    await shots.take(page, 'gallery', { forDocs: true });

    await page.getByLabel('Search').fill('nikon');
    await count('.grid .tile', 1);
    assert.match(await tiles.first().innerText(), /Nikon_D70/);
    assert.match(page.url(), /[?&]q=nikon/);
    await page.getByLabel('Search').fill('');
    await count('.grid .tile', 6);

    await page.locator('.tile', { hasText: 'DSCN0010.jpg' }).getByRole('link').click();
    await heading('DSCN0010.jpg').waitFor();
    await page.setViewportSize({ width: 1024, height: 760 }); // a smaller photo keeps the PNG under 300 KB
    await page.waitForFunction(picturesShown, '.detail-media');
    await shots.take(page, 'detail', { forDocs: true });
    await page.setViewportSize(WIDE);
    await page.getByRole('link', { name: '← Gallery' }).click();
    await count('.grid .tile', 6);
  });

  it('shows the details of an image, changes its description and visibility, and shares it privately', async () => {
    await page.locator('.tile', { hasText: 'Canon_40D.jpg' }).getByRole('link').click();
    await heading('Canon_40D.jpg').waitFor();
    const facts = page.locator('.detail-side');
    await facts.getByText('100 × 68 px').waitFor();
    await facts.getByText('Canon', { exact: false }).first().waitFor();
    assert.match(await facts.innerText(), /Canon EOS 40D/);
    assert.match(await facts.innerText(), /Exposure\s+1\/160 s/);
    assert.match(await facts.innerText(), /Aperture\s+f\/7\.1/);
    assert.match(await facts.innerText(), /ready/);
    assert.ok((await page.locator('.variants li').count()) >= 2, 'the variants are listed');

    await page.getByLabel('Description', { exact: true }).fill('Canon test chart');
    await page.getByRole('radio', { name: /Private/ }).check();
    await page.getByRole('button', { name: 'Save changes' }).click();
    await page.getByRole('status').getByText('Saved.').waitFor();
    const image = (await images()).find((i) => i.original_name === 'Canon_40D.jpg');
    assert.equal(image?.visibility, 'private');
    assert.equal(image?.description, 'Canon test chart');
    // A private image is fetched with the credential: it still shows here.
    await page.waitForFunction(privateImageShown);

    await page.getByRole('button', { name: 'Create share link' }).click();
    const shareUrl = await page.getByLabel(/Anyone with this link/).inputValue();
    assert.match(shareUrl, /\?expires=\d+&sig=/);
    await shots.take(page, 'detail-private', { fullPage: true });

    // Chromium's own image viewer, not imgd's UI: its console is not watched.
    const stranger = await browser.newContext();
    const view = await stranger.newPage();
    const shared = await view.goto(shareUrl);
    assert.equal(shared?.status(), 200);
    assert.equal(shared?.headers()['content-type'], 'image/jpeg');
    assert.equal(await view.evaluate(firstImageWidth), 100, 'the shared image renders');
    const plain = await view.goto(image?.url ?? '');
    assert.notEqual(plain?.status(), 200, 'without the signature the private image stays private');
    await stranger.close();
  });

  it('deletes an image only after confirmation', async () => {
    await page.getByRole('button', { name: 'Delete image…' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    await dialog.waitFor({ state: 'hidden' });
    assert.equal((await images()).length, 6, 'cancel keeps the image');
    await page.getByRole('button', { name: 'Delete image…' }).click();
    await dialog.getByRole('button', { name: 'Delete', exact: true }).click();
    await heading('Your images').waitFor();
    await count('.grid .tile', 5);
    assert.equal((await images()).some((i) => i.original_name === 'Canon_40D.jpg'), false);
  });

  it('can be used with the keyboard alone: skip link, navigation, tiles', async () => {
    await go('/app/gallery');
    await count('.grid .tile', 5);
    const focused = () => page.evaluate('document.activeElement?.textContent ?? ""') as Promise<string>;
    await page.keyboard.press('Tab');
    assert.equal(await focused(), 'Skip to content');
    const seen: string[] = [];
    for (let i = 0; i < 40 && !seen.includes('pasted.jpg'); i += 1) {
      await page.keyboard.press('Tab');
      seen.push((await focused()).replace(/\d.*$/, '').trim());
    }
    for (const stop of ['imgd', 'Upload', 'Gallery', 'API keys', 'Sign out', 'Apply']) assert.ok(seen.includes(stop), `Tab reaches ${stop}: ${seen.join(' | ')}`);
    assert.match(seen.at(-1) ?? '', /pasted\.jpg/, 'Tab reaches the image tiles');
    await page.keyboard.press('Enter');
    await heading('pasted.jpg').waitFor();
  });

  it('creates an API key with chosen scopes, shows it once to copy, and revokes it', async () => {
    await page.getByRole('link', { name: 'API keys' }).click();
    await heading('API keys').waitFor();
    await page.getByLabel('Name').fill('backup script');
    await page.getByRole('checkbox', { name: /upload/ }).uncheck();
    await page.getByRole('checkbox', { name: /read/ }).check();
    await page.getByRole('button', { name: 'Create key' }).click();
    const secret = await page.getByRole('textbox', { name: 'New API key' }).inputValue();
    await page.getByRole('button', { name: 'Copy the new API key' }).click();
    assert.equal(await page.evaluate(clipboardText), secret);
    const me = await fetch(`${t.url}/api/v1/auth/me`, { headers: bearer(secret) });
    assert.equal(me.status, 200);
    assert.deepEqual(((await me.json()) as { scopes: string[] }).scopes, ['read']);
    await page.getByRole('row', { name: /backup script/ }).getByText('read', { exact: true }).waitFor();
    await shots.take(page, 'keys');

    await page.getByRole('button', { name: 'Done' }).click();
    assert.equal(await page.getByRole('textbox', { name: 'New API key' }).count(), 0, 'the key is shown only once');
    await page.getByRole('button', { name: 'Revoke backup script' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Revoke key' }).click();
    await page.getByText('No keys yet.').waitFor();
    assert.equal((await fetch(`${t.url}/api/v1/auth/me`, { headers: bearer(secret) })).status, 401);
  });

  it('uploads into a key on its own page, shows its latest image and history, and takes uploads from a token link', async () => {
    await go('/k/product/42/main');
    await heading(/Key/).waitFor();
    await page.getByText('Nothing uploaded under this key yet.').waitFor();
    for (const photo of ['jpg/gps/DSCN0027.jpg', 'jpg/gps/DSCN0029.jpg']) {
      await page.locator('.uppy-Dashboard-input').first().setInputFiles(fixture(photo));
      await page.locator(`.result[data-file="${photo.split('/').at(-1)}"][data-state="done"]`).waitFor();
    }
    const latest = page.locator('.key-latest');
    await latest.getByText('DSCN0029.jpg').waitFor();
    await page.locator('.history').getByText('DSCN0027.jpg').waitFor();
    await page.waitForFunction(picturesShown, '.key-latest');
    await page.waitForFunction(picturesShown, '.history');
    const keyed = await images('&key=product%2F42%2Fmain');
    assert.deepEqual(keyed.map((i) => i.original_name), ['DSCN0029.jpg', 'DSCN0027.jpg']);
    await shots.take(page, 'key', { fullPage: true });

    // A link with an upload token bound to the key lets someone who is not signed in upload into it.
    const minted = await fetch(`${t.url}/api/v1/upload-tokens`, {
      method: 'POST',
      headers: { ...t.auth, 'content-type': 'application/json' },
      body: JSON.stringify({ key: 'product/42/main', single_use: true }),
    });
    const { token } = (await minted.json()) as { token: string };
    const visitor = errors.watchContext(await newContext(browser));
    const guest = await visitor.newPage();
    await guest.goto(`${t.url}/k/product/42/main?token=${encodeURIComponent(token)}`);
    await guest.getByText('Signed out: this link can upload').waitFor();
    await guest.locator('.uppy-Dashboard-input').first().setInputFiles(fixture('jpg/gps/DSCN0038.jpg'));
    await guest.locator('.result[data-file="DSCN0038.jpg"][data-state="done"]').waitFor();
    await visitor.close();
    assert.deepEqual((await images('&key=product%2F42%2Fmain')).map((i) => i.original_name), ['DSCN0038.jpg', 'DSCN0029.jpg', 'DSCN0027.jpg']);
  });

  it('lets the admin token sign in to the dashboard: charts over time, storage, queue and users', async () => {
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByText('Use a token instead').click();
    await page.getByLabel('Token').fill(TOKEN);
    await page.getByRole('button', { name: 'Use token' }).click();
    await heading('Upload images').waitFor();
    await page.getByRole('link', { name: 'Dashboard' }).click();
    await heading('Dashboard').waitFor();
    for (const chart of ['uploads', 'bytes', 'time']) {
      await page.locator(`[data-chart="${chart}"] .bar rect`).first().waitFor();
    }
    const today = new Date().toISOString().slice(0, 10);
    assert.match((await page.locator(`[data-chart="uploads"] .bar[data-day="${today}"] title`).textContent()) ?? '', /succeeded 9, failed 1/);
    assert.match(await page.locator('.stat', { hasText: 'Storage used' }).innerText(), /8 images/);
    await page.locator('[data-queue="pending"]').waitFor();
    await page.getByRole('row', { name: new RegExp(USER.name) }).waitFor();
    await shots.take(page, 'dashboard', { fullPage: true, forDocs: true });

    // Admins see everyone's images, and can narrow them to one owner.
    await page.getByRole('link', { name: 'Gallery' }).click();
    await heading('All images').waitFor();
    await page.getByLabel('Owner').selectOption({ label: USER.name });
    await count('.grid .tile', 7);
  });

  it('loads the next page of the gallery when its end scrolls into view', async () => {
    const canon = await readFile(fixture('jpg/Canon_40D.jpg'));
    for (const batch of [0, 1]) {
      const files = Array.from({ length: 15 }, (_, i): [string, Uint8Array] => [`many-${batch}-${i}.jpg`, canon]);
      const res = await t.upload(files);
      assert.equal(res.status, 201, await res.text());
    }
    await go('/app/gallery');
    await count('.grid .tile', 30);
    await page.getByText('more load as you scroll').waitFor();
    await page.locator('.more').scrollIntoViewIfNeeded();
    await count('.grid .tile', 38);
    await page.getByText('38 images').waitFor();
  });

  it('works on a phone-sized screen without sideways scrolling', async () => {
    const phone = errors.watchContext(await newContext(browser, { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, deviceScaleFactor: 2 }));
    const small = await phone.newPage();
    await small.goto(`${t.url}/app/signin`);
    await small.getByText('Use a token instead').click();
    await small.getByLabel('Token').fill(TOKEN);
    await small.getByRole('button', { name: 'Use token' }).click();
    for (const [path, title] of [
      ['/app/upload', 'Upload images'],
      ['/app/gallery', 'All images'],
      ['/app/admin', 'Dashboard'],
      ['/app/keys', 'API keys'],
    ] as const) {
      await small.getByRole('navigation').getByRole('link', { name: title === 'All images' ? 'Gallery' : title.replace('Upload images', 'Upload') }).click();
      await small.getByRole('heading', { level: 1, name: title }).waitFor();
      const overflow = await small.evaluate(sidewaysOverflow);
      assert.ok(overflow <= 0, `${path} scrolls sideways by ${overflow}px on a phone`);
    }
    const id = (await images()).find((i) => i.original_name === 'Nikon_D70.jpg')?.id ?? '';
    await small.goto(`${t.url}/app/images/${id}`);
    await small.getByRole('heading', { level: 1, name: 'Nikon_D70.jpg' }).waitFor();
    assert.ok((await small.evaluate(sidewaysOverflow)) <= 0, 'the detail page fits a phone');
    await shots.take(small, 'phone-detail');
    await phone.close();
  });

  it('logged no console errors on any page', () => {
    assert.deepEqual(errors.seen, []);
  });
});

describe('the web UI over a dropped connection', { skip: browserMissing(), timeout: 120_000 }, () => {
  let t: TestApp;
  let browser: Browser;
  const errors = new ConsoleErrors();
  before(async () => {
    buildClient();
    t = await startApp();
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
    await t?.close();
  });

  it('sends a large photo over tus, and finishes it after the page was offline mid-way', async () => {
    // Noise hardly compresses: a JPEG of about 5.5 MiB, over the 4 MiB above which the page sends resumably.
    const [width, height] = [2600, 2100];
    const large = await sharp(randomBytes(width * height * 3), { raw: { width, height, channels: 3 } }).jpeg({ quality: 95 }).toBuffer();
    assert.ok(large.length > 4 * 1024 * 1024, `${large.length} bytes`);
    const context = errors.watchContext(await newContext(browser));
    const page = await context.newPage();
    await page.goto(`${t.url}/app/signin`);
    await page.getByText('Use a token instead').click();
    await page.getByLabel('Token').fill(TOKEN);
    await page.getByRole('button', { name: 'Use token' }).click();
    await page.getByRole('heading', { level: 1, name: 'Upload images' }).waitFor();

    const cdp = await context.newCDPSession(page);
    await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: 1024 * 1024 });
    await page.locator('.uppy-Dashboard-input').first().setInputFiles({ name: 'noise.jpg', mimeType: 'image/jpeg', buffer: large });
    const progress = page.locator('.result[data-file="noise.jpg"] progress');
    await waitFor('a part of the photo to be sent', async () => (Number(await progress.getAttribute('value').catch(() => '0')) >= 20 ? true : undefined), 30_000);
    await context.setOffline(true);
    await waitFor('the server to hold part of it', async () => {
      const row = await t.app.db.selectFrom('resumable_uploads').select('received').executeTakeFirst();
      return row && Number(row.received) > 0 ? true : undefined;
    });
    await context.setOffline(false);
    await page.locator('.result[data-file="noise.jpg"][data-state="done"]').waitFor({ timeout: 60_000 });

    const uploads = await t.app.db.selectFrom('resumable_uploads').select(['state', 'image_id']).execute();
    assert.equal(uploads.length, 1, 'one upload, resumed, not started again');
    assert.equal(uploads[0]?.state, 'done');
    const image = (await (await fetch(`${t.url}/api/v1/images/${uploads[0]?.image_id}`, { headers: t.auth })).json()) as { sha256: string; original_name: string };
    assert.equal(image.original_name, 'noise.jpg');
    assert.equal(image.sha256, createHash('sha256').update(large).digest('hex'));
    await page.locator('.result[data-file="noise.jpg"]').getByRole('button', { name: 'Copy URL of noise.jpg' }).waitFor();
    await context.close();
    // A request cut by the browser going offline is logged by Chromium as a network error; nothing else may be.
    assert.deepEqual(errors.seen.filter((line) => !/ERR_INTERNET_DISCONNECTED|net::ERR_/.test(line)), []);
  });
});
