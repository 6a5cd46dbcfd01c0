// The library in a real browser: keyboard-only bulk select into the trash and back, the lightbox, an album shared
// with a fresh browser, the Open Graph tags of a viewer page, and every library page on a 390 px phone.
// IMGD_SCREENSHOTS=docs also writes the README's albums and trash screenshots.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { fixture, startApp, TOKEN, type TestApp } from '../helpers/app.js';
import { uploadAs, type LibraryImage } from '../helpers/library.js';
import { waitFor } from '../helpers/wait.js';
import { browserMissing, buildClient, ConsoleErrors, launchBrowser, newContext, Screenshots } from './browser.js';
import { imagesLoaded, picturesShown, sidewaysOverflow } from './in-page.js';

const PHOTOS = ['jpg/gps/DSCN0010.jpg', 'jpg/Canon_40D.jpg', 'jpg/Nikon_D70.jpg', 'jpg/orientation/landscape_1.jpg'];

describe('the library in the web UI', { skip: browserMissing(), timeout: 180_000 }, () => {
  let t: TestApp;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let uploaded: LibraryImage[];
  const errors = new ConsoleErrors();
  const shots = new Screenshots();
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

  /** Signs `on` in with the admin token and waits for the upload page it lands on. */
  async function signIn(on: Page): Promise<void> {
    await on.goto(`${t.url}/app/signin`);
    await on.getByText('Use a token instead').click();
    await on.getByLabel('Token').fill(TOKEN);
    await on.getByRole('button', { name: 'Use token' }).click();
    await on.getByRole('heading', { level: 1, name: 'Upload images' }).waitFor();
  }

  before(async () => {
    buildClient();
    t = await startApp();
    uploaded = [];
    for (const file of PHOTOS) uploaded.push(await uploadAs(t, t.auth, [file.split('/').pop()!, await readFile(fixture(file))]));
    browser = await launchBrowser();
    context = errors.watchContext(await newContext(browser, { viewport: { width: 1280, height: 860 } }));
    page = await context.newPage();
    await signIn(page);
  });

  after(async () => {
    await browser?.close();
    await t?.close();
    if (shots.folder) console.log(`screenshots of this run: ${shots.folder}`);
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
    const boxes = page.getByRole('checkbox', { name: /Select / });
    assert.deepEqual(await Promise.all([0, 1, 2, 3].map((i) => boxes.nth(i).isChecked())), [true, true, true, false], 'the boxes show the selection');
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

  it('shows the albums and the trash (screenshots for the README)', async () => {
    const trashed = uploaded[0]!; // the one not in the album
    assert.equal((await fetch(`${t.url}/api/v1/images/${trashed.id}`, { method: 'DELETE', headers: t.auth })).status, 204);
    await page.goto(`${t.url}/app/albums`);
    await page.getByRole('link', { name: /Trip/ }).waitFor();
    await shots.take(page, 'albums', { fullPage: true, forDocs: true });
    await page.goto(`${t.url}/app/trash`);
    await count('.grid .tile', 1);
    await page.waitForFunction(imagesLoaded, '.grid');
    await shots.take(page, 'trash', { fullPage: true, forDocs: true });
  });

  it('fits every library page on a 390 px phone, with the bulk bar on screen', async () => {
    const phone = errors.watchContext(await newContext(browser, { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, deviceScaleFactor: 2 }));
    const small = await phone.newPage();
    await signIn(small);
    const fits = async (what: string) => {
      const overflow = await small.evaluate(sidewaysOverflow);
      assert.ok(overflow <= 0, `${what} scrolls sideways by ${overflow}px on a phone`);
    };

    await small.goto(`${t.url}/app/gallery`);
    await count('.grid .tile', 3, small);
    await small.getByRole('checkbox', { name: /Select / }).first().click();
    await small.getByText('1 selected').waitFor();
    await fits('the gallery with a selection');
    const bar = small.getByRole('toolbar', { name: 'Selected images' });
    const buttons = await bar.getByRole('button').all();
    assert.ok(buttons.length >= 4, `the bulk bar has its buttons (${buttons.length})`);
    for (const button of buttons) {
      const box = await button.boundingBox();
      assert.ok(box && box.x >= 0 && box.x + box.width <= 390, `"${await button.textContent()}" is on screen (${JSON.stringify(box)})`);
    }
    await shots.take(small, 'phone-gallery', { fullPage: true });

    await small.getByRole('button', { name: /^View / }).first().click();
    await small.getByRole('dialog').getByText('(1 of 3)').waitFor();
    await small.waitForFunction(picturesShown, '.lightbox');
    await fits('the lightbox');
    await small.keyboard.press('Escape');

    await small.goto(`${t.url}/app/albums`);
    await small.getByRole('link', { name: /Trip/ }).waitFor();
    await fits('/app/albums');
    await small.getByRole('link', { name: /Trip/ }).click();
    await small.getByRole('heading', { level: 1, name: 'Trip' }).waitFor();
    await count('.grid .tile', 3, small);
    await fits('/app/albums/{id}');

    await small.goto(`${t.url}/app/trash`);
    await count('.grid .tile', 1, small);
    await fits('/app/trash with an image in it');
    await shots.take(small, 'phone-trash', { fullPage: true });
    await phone.close();
  });
});
