// Bundles the browser UI (src/web/client) with esbuild into dist/web: content-hashed assets and the HTML shell.
/* global process, console */
import { copyFile, mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const WEB_SOURCE = path.join(ROOT, 'src', 'web');
export const WEB_OUT = path.join(ROOT, 'dist', 'web');

const escapeAttr = (value) => value.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;');

/**
 * Builds into a private folder first, then moves each file into place with a rename, and the HTML last:
 * a server or a second build running at the same time never sees a half-written file.
 */
export async function buildWeb({ outDir = WEB_OUT, minify = true, quiet = false } = {}) {
  const staging = `${outDir}.tmp-${process.pid}-${Date.now()}`;
  try {
    const result = await esbuild.build({
      absWorkingDir: ROOT,
      entryPoints: { app: path.join(WEB_SOURCE, 'client', 'main.tsx') },
      bundle: true,
      format: 'esm',
      platform: 'browser',
      target: ['es2020', 'chrome100', 'firefox100', 'safari15'],
      jsx: 'automatic',
      jsxImportSource: 'preact',
      minify,
      sourcemap: 'linked',
      legalComments: 'linked',
      entryNames: '[name]-[hash]',
      assetNames: '[name]-[hash]',
      outdir: path.join(staging, 'assets'),
      metafile: true,
      logLevel: quiet ? 'error' : 'warning',
      define: { 'process.env.NODE_ENV': '"production"' },
    });
    const outputs = Object.keys(result.metafile.outputs).map((file) => path.basename(file));
    const script = outputs.find((name) => /^app-.+\.js$/.test(name));
    const style = outputs.find((name) => /^app-.+\.css$/.test(name));
    if (!script || !style) throw new Error(`build-web: expected app-*.js and app-*.css, got ${outputs.join(', ')}`);

    const template = await readFile(path.join(WEB_SOURCE, 'index.html'), 'utf8');
    const html = template
      .replace('<!--imgd:style-->', `<link rel="stylesheet" href="/assets/${escapeAttr(style)}">`)
      .replace('<!--imgd:script-->', `<script type="module" src="/assets/${escapeAttr(script)}"></script>`);
    await writeFile(path.join(staging, 'index.html'), html);

    await mkdir(path.join(outDir, 'assets'), { recursive: true });
    for (const name of await readdir(path.join(staging, 'assets'))) {
      await rename(path.join(staging, 'assets', name), path.join(outDir, 'assets', name));
    }
    await rename(path.join(staging, 'index.html'), path.join(outDir, 'index.html'));
    // Hashed files of earlier builds: the new HTML no longer points at them.
    const kept = new Set(outputs);
    for (const name of await readdir(path.join(outDir, 'assets'))) {
      if (!kept.has(name)) await rm(path.join(outDir, 'assets', name), { force: true });
    }
    // ReDoc for the attachments profile's /redoc (a dev dependency: production installs keep the built copy).
    const redoc = createRequire(import.meta.url).resolve('redoc/bundles/redoc.standalone.js');
    await mkdir(path.join(outDir, 'vendor'), { recursive: true });
    await copyFile(redoc, path.join(outDir, 'vendor', 'redoc.standalone.js'));
    await copyFile(`${redoc}.LICENSE.txt`, path.join(outDir, 'vendor', 'redoc.standalone.js.LICENSE.txt'));
    if (!quiet) console.log(`build-web: ${path.relative(ROOT, outDir)}/index.html, assets ${script}, ${style}`);
    return { script, style, outDir };
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  buildWeb({ minify: !process.argv.includes('--dev') }).catch((err) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  });
}
