// A real Chromium for the browser tests: where to find it, what to do when it is missing, console errors and screenshots.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import sharp from 'sharp';
import { REPO_ROOT } from '../helpers/accounts.js';
import { startApp, type TestApp } from '../helpers/app.js';

export const CHROMIUM = '/usr/bin/chromium';
const INSTALL = 'apt-get install -y chromium';

/**
 * Undefined when the browser is there. Without it the tests are skipped loudly, except under CI=true, where
 * they must fail: a green CI run without the browser tests would be a lie.
 */
export function browserMissing(): string | undefined {
  if (existsSync(CHROMIUM)) return undefined;
  const message = `${CHROMIUM} is missing: the browser tests need Debian's chromium package (${INSTALL})`;
  if (process.env.CI === 'true') return undefined; // launch() below fails with the message
  console.warn(`\n!!! SKIPPING the web UI tests: ${message}.\n`);
  return message;
}

export async function launchBrowser(): Promise<Browser> {
  assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing: install Debian's chromium package (${INSTALL}); CI=true does not skip the browser tests`);
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

/** Builds the client into dist/web, so the tests always see the current source. */
export function buildClient(): void {
  const out = spawnSync(process.execPath, ['scripts/build-web.mjs'], { cwd: REPO_ROOT, encoding: 'utf8' });
  assert.equal(out.status, 0, `npm run build:web failed:\n${out.stdout}${out.stderr}`);
}

/** Every console error and uncaught exception of the pages it watches, each with the page's URL. */
export class ConsoleErrors {
  readonly seen: string[] = [];

  watch(page: Page): Page {
    page.on('console', (message) => {
      if (message.type() !== 'error') return;
      // Chromium logs every 4xx answer; those of the API and of image URLs are answers the UI expects and shows.
      const { pathname } = new URL(message.location().url || page.url());
      if (message.text().startsWith('Failed to load resource: the server responded with a status of 4') && /^\/(api\/v1|i)\//.test(pathname)) return;
      this.seen.push(`${page.url()}: console.error: ${message.text()} (${message.location().url})`);
    });
    page.on('pageerror', (error) => this.seen.push(`${page.url()}: uncaught: ${error.stack ?? error.message}`));
    return page;
  }

  watchContext(context: BrowserContext): BrowserContext {
    context.on('page', (page) => this.watch(page));
    return context;
  }
}

/** A fresh browser profile (no cookies, no storage) whose pages can run the functions of in-page.ts. */
export async function newContext(browser: Browser, options: Parameters<Browser['newContext']>[0] = {}): Promise<BrowserContext> {
  const context = await browser.newContext(options);
  // tsx wraps the functions it compiles in a __name helper, which the page does not have.
  await context.addInitScript({ content: 'globalThis.__name = (fn) => fn;' });
  return context;
}

/**
 * Screenshots go to a temporary folder on every run (its path is printed); with IMGD_SCREENSHOTS=<dir> the ones
 * named for the documentation are also written there, palette-compressed to stay small (docs/screenshot-*.png).
 */
export class Screenshots {
  private dir: string | undefined;
  readonly docsDir = process.env.IMGD_SCREENSHOTS ? path.resolve(REPO_ROOT, process.env.IMGD_SCREENSHOTS) : undefined;

  async take(page: Page, name: string, options: { fullPage?: boolean; forDocs?: boolean } = {}): Promise<string> {
    this.dir ??= await mkdtemp(path.join(os.tmpdir(), 'imgd-screens-'));
    const file = path.join(this.dir, `${name}.png`);
    // A full-page shot of a scrolled page would show the sticky header halfway down.
    if (options.fullPage) await page.evaluate('window.scrollTo(0, 0)');
    const png = await page.screenshot({ path: file, fullPage: options.fullPage ?? false, animations: 'disabled' });
    if (options.forDocs && this.docsDir) {
      await mkdir(this.docsDir, { recursive: true });
      const small = await sharp(png).png({ palette: true, quality: 80, effort: 10, compressionLevel: 9 }).toBuffer();
      await writeFile(path.join(this.docsDir, `screenshot-${name}.png`), small);
    }
    return file;
  }

  get folder(): string | undefined {
    return this.dir;
  }
}

/** The desktop viewport the browser tests start with. */
export const WIDE = { width: 1280, height: 860 };

export interface Ui {
  t: TestApp;
  browser: Browser;
  context: BrowserContext;
  page: Page;
}

/**
 * An app (startApp's settings) with the client built and a browser on it: one wide, light page in a context watched
 * for console errors; `prepare` runs on the context before the page opens (permissions, cookies).
 */
export async function openUi(errors: ConsoleErrors, settings: Record<string, string> = {}, prepare?: (context: BrowserContext, t: TestApp) => Promise<void>): Promise<Ui> {
  buildClient();
  const t = await startApp(settings);
  const browser = await launchBrowser();
  const context = errors.watchContext(await newContext(browser, { viewport: WIDE, colorScheme: 'light' }));
  await prepare?.(context, t);
  return { t, browser, context, page: await context.newPage() };
}

/** Closes what openUi opened (as far as it got), and names the folder of this run's screenshots. */
export async function closeUi(ui: Partial<Ui>, shots: Screenshots): Promise<void> {
  await ui.browser?.close();
  await ui.t?.close();
  if (shots.folder) console.log(`screenshots of this run: ${shots.folder}`);
}
