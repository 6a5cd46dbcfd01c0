// The library in a real browser: keyboard-only bulk select into the trash and back, the lightbox, an album shared
// with a fresh browser, and the Open Graph tags of a viewer page.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { fixture, startApp, TOKEN, type TestApp } from '../helpers/app.js';
import { uploadAs, type LibraryImage } from '../helpers/library.js';
import { waitFor } from '../helpers/wait.js';
import { browserMissing, buildClient, ConsoleErrors, launchBrowser, newContext } from './browser.js';
import { imagesLoaded, picturesShown } from './in-page.js';

const PHOTOS = ['jpg/gps/DSCN0010.jpg', 'jpg/Canon_40D.jpg', 'jpg/Nikon_D70.jpg', 'jpg/orientation/landscape_1.jpg'];

describe('the library in the web UI', { skip: browserMissing(), timeout: 180_000 }, () => {
  let t: TestApp;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let uploaded: LibraryImage[];
  const errors = new ConsoleErrors();
  const count = (selector: string, n: number, on: Page = page) =>
    waitFor(`${n} × ${selector}`, async () => ((await on.locator(selector).count()) === n ? true : undefined), 30_000);
  const listed = async (path: string): Promise<number> => ((await (await fetch(`${t.url}${path}`, { headers: t.auth })).json()) as { items: unknown[] }).items.length;
  const focusedNav = () => page.evaluate('document.activeElement?.dataset?.nav ?? document.activeElement?.textContent ?? ""') as Promise<string>;
  /** Presses Tab (or Shift+Tab) until the focused element is the one `found` recognizes. */
  async function tabTo(found: (nav: string) => boolean, key = 'Tab'): Promise<void> {
    for (let i = 0; i < 40; i += 1) {
      await page.keyboard.press(key);
      if (found(await focusedNav())) return;
    }
    assert.fail(`${key} never reached the control`);
  }

  before(async () => {
    buildClient();
    t = await startApp();
    uploaded = [];
    for (const file of PHOTOS) uploaded.push(await uploadAs(t, t.auth, [file.split('/').pop()!, await readFile(fixture(file))]));
    browser = await launchBrowser();
    context = errors.watchContext(await newContext(browser, { viewport: { width: 1280, height: 860 } }));
    page = await context.newPage();
    await page.goto(`${t.url}/app/signin`);
    await page.getByText('Use a token instead').click();
    await page.getByLabel('Token').fill(TOKEN);
    await page.getByRole('button', { name: 'Use token' }).click();
    await page.getByRole('heading', { level: 1, name: 'Upload images' }).waitFor();
  });

  after(async () => {
    await browser?.close();
    await t?.close();
    assert.deepEqual(errors.seen, [], 'no console errors');
  });

  it('selects with the keyboard alone (Space, Enter, arrows, Shift+arrow), moves the selection to the trash, and restores it', async () => {
    await page.getByRole('link', { name: 'Gallery' }).click();
    await count('.grid .tile', 4);
    await page.getByLabel('Sort').focus();
    await tabTo((nav) => nav === 'check');
    await page.keyboard.press('Space');
    await page.getByText('1 selected').waitFor();
    await page.keyboard.press('ArrowRight');
    assert.equal(await focusedNav(), 'check');
    await page.keyboard.press('Enter');
    await page.getByText('2 selected').waitFor();
    await page.keyboard.press('Shift+ArrowRight');
    await page.getByText('3 selected').waitFor();
    await tabTo((nav) => nav === 'Move to trash', 'Shift+Tab');
    await page.keyboard.press('Enter');
    await count('.grid .tile', 1);
    assert.equal(await listed('/api/v1/images'), 1);
    assert.equal(await listed('/api/v1/trash'), 3);

    await page.getByRole('link', { name: 'Trash' }).click();
    await count('.grid .tile', 3);
    await page.getByRole('button', { name: 'Select all' }).click();
    await page.getByRole('button', { name: 'Restore', exact: true }).click();
    await page.getByText('The trash is empty.').waitFor();
    assert.equal(await listed('/api/v1/images'), 4);
  });

  it('shows a lightbox that moves to the next and previous image by button and arrow key, and closes with Escape', async () => {
    await page.getByRole('link', { name: 'Gallery' }).click();
    await count('.grid .tile', 4);
    await page.getByRole('button', { name: /^View / }).first().click();
    const box = page.getByRole('dialog');
    await box.getByText('(1 of 4)').waitFor();
    await page.waitForFunction(picturesShown, '.lightbox');
    await page.keyboard.press('ArrowRight');
    await box.getByText('(2 of 4)').waitFor();
    await box.getByRole('button', { name: 'Next image' }).click();
    await box.getByText('(3 of 4)').waitFor();
    await page.keyboard.press('ArrowLeft');
    await box.getByText('(2 of 4)').waitFor();
    await page.keyboard.press('Escape');
    await box.waitFor({ state: 'hidden' });
  });

  it('makes an album, fills it from the gallery, and shares it with a link a fresh browser opens without signing in', async () => {
    await page.getByRole('link', { name: 'Albums' }).click();
    await page.getByLabel('New album').fill('Trip');
    await page.getByRole('button', { name: 'Create album' }).click();
    await page.getByRole('heading', { level: 1, name: 'Trip' }).waitFor();
    await page.getByRole('link', { name: 'Gallery' }).click();
    await count('.grid .tile', 4);
    await page.getByRole('checkbox', { name: /Select / }).first().click();
    await page.getByRole('checkbox', { name: /Select / }).nth(2).click({ modifiers: ['Shift'] });
    await page.getByText('3 selected').waitFor();
    await page.getByLabel('Album').selectOption({ label: 'Trip' });
    await page.getByRole('button', { name: 'Add to album' }).click();
    await page.getByText(/Added to the album: 3 of 3 done/).waitFor();

    await page.getByRole('link', { name: 'Albums' }).click();
    await page.getByRole('link', { name: /Trip/ }).click();
    await count('.grid .tile', 3);
    await page.getByRole('button', { name: 'Create share link' }).click();
    const url = await page.getByLabel(/Anyone with this link/).inputValue();

    const stranger = await newContext(browser);
    const view = errors.watch(await stranger.newPage());
    const res = await view.goto(url);
    assert.equal(res?.status(), 200);
    await view.waitForFunction(imagesLoaded, 'ul.grid');
    assert.equal(await view.locator('ul.grid img').count(), 3);
    assert.equal(await view.locator('meta[property="og:title"]').getAttribute('content'), 'Trip');
    await stranger.close();
  });

  it("gives each image a viewer page whose Open Graph tags a link preview reads", async () => {
    const image = uploaded[1]!;
    const stranger = await newContext(browser);
    const view = errors.watch(await stranger.newPage());
    assert.equal((await view.goto(image.page_url))?.status(), 200);
    const meta = (name: string) => view.locator(`meta[property="${name}"], meta[name="${name}"]`).getAttribute('content');
    assert.equal(await meta('og:title'), 'Canon_40D.jpg');
    assert.equal(await meta('twitter:card'), 'summary_large_image');
    const ogImage = (await meta('og:image'))!;
    assert.match(ogImage, /\/medium\?format=jpeg$/);
    assert.ok(Number(await meta('og:image:width')) > 0);
    const preview = await stranger.request.get(ogImage);
    assert.equal(preview.status(), 200);
    assert.equal(preview.headers()['content-type'], 'image/jpeg');
    assert.equal(await view.getByRole('link', { name: 'Raw image' }).getAttribute('href'), image.url);
    await view.waitForFunction(imagesLoaded, 'figure');
    await stranger.close();
  });
});
