import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import sharp from 'sharp';
import { signOptions } from '../../src/core/variants/variant-options.js';
import { fixture, FIXTURES, startApp, type TestApp } from '../helpers/app.js';
import { uploadOne, type Image } from '../helpers/images.js';

async function fetchImage(url: string, accept?: string, headers: Record<string, string> = {}) {
  const res = await fetch(url, { headers: { ...(accept && { accept }), ...headers } });
  const bytes = Buffer.from(await res.arrayBuffer());
  return { res, bytes };
}

async function renderedCount(t: TestApp): Promise<number> {
  const text = await (await fetch(`${t.url}/metrics`)).text();
  let total = 0;
  for (const m of text.matchAll(/^imgd_variants_rendered_total\{[^}]*\} (\d+)/gm)) total += Number(m[1]);
  return total;
}

describe('variants', () => {
  let t: TestApp;
  before(async () => {
    // Background jobs off: every variant here is rendered by the request that asks for it.
    t = await startApp({ RUN_WORKERS: 'false' });
  });
  after(() => t.close());

  it('lists the presets as absolute URLs in the image object', async () => {
    const image = await uploadOne(t, fixture('jpg/gps/DSCN0010.jpg'));
    assert.deepEqual(image.variants, { small: `${image.url}/small`, medium: `${image.url}/medium` });
  });

  it('answers AVIF, WebP or JPEG by the Accept header, with Vary: Accept', async () => {
    const image = await uploadOne(t, fixture('jpg/gps/DSCN0021.jpg'));
    const cases: [string | undefined, string, string][] = [
      ['image/avif,image/webp,image/*,*/*;q=0.8', 'image/avif', 'heif'],
      ['image/webp,*/*', 'image/webp', 'webp'],
      [undefined, 'image/jpeg', 'jpeg'],
    ];
    for (const [accept, contentType, format] of cases) {
      const { res, bytes } = await fetchImage(image.variants.small!, accept);
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('content-type'), contentType);
      assert.equal(res.headers.get('vary'), 'Accept');
      const meta = await sharp(bytes).metadata();
      assert.equal(meta.format, format);
      assert.equal(Math.max(meta.width, meta.height), 256);
    }
  });

  it('keeps the pinned format and sends no Vary: Accept when the URL names one', async () => {
    const image = await uploadOne(t, fixture('jpg/gps/DSCN0025.jpg'));
    const { res, bytes } = await fetchImage(`${image.variants.medium}?format=webp`, 'image/avif');
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'image/webp');
    assert.equal(res.headers.get('vary'), null);
    // The original is 640 px wide: a variant never enlarges.
    assert.equal((await sharp(bytes).metadata()).width, 640);
  });

  it('serves PNG to clients without AVIF or WebP when the image has transparency', async () => {
    const png = await sharp({ create: { width: 300, height: 200, channels: 4, background: { r: 255, g: 0, b: 0, alpha: 0.5 } } }).png().toBuffer();
    const image = await uploadOne(t, ['translucent.png', png]);
    const { res, bytes } = await fetchImage(image.variants.small!, 'image/jpeg,image/png');
    assert.equal(res.headers.get('content-type'), 'image/png');
    assert.equal((await sharp(bytes).metadata()).hasAlpha, true);
  });

  it('turns all eight EXIF orientations upright', async () => {
    const folder = `${FIXTURES}/jpg/orientation`;
    for (const kind of ['landscape', 'portrait']) {
      const reference = await uploadOne(t, `${folder}/${kind}_1.jpg`);
      const expected = await sharp((await fetchImage(`${reference.variants.small}?format=png`)).bytes).raw().toBuffer({ resolveWithObject: true });
      for (let n = 2; n <= 8; n++) {
        const image = await uploadOne(t, `${folder}/${kind}_${n}.jpg`);
        const { bytes } = await fetchImage(`${image.variants.small}?format=png`);
        const actual = await sharp(bytes).raw().toBuffer({ resolveWithObject: true });
        assert.equal(actual.info.width, expected.info.width, `${kind}_${n} width`);
        assert.equal(actual.info.height, expected.info.height, `${kind}_${n} height`);
        let diff = 0;
        for (let i = 0; i < actual.data.length; i++) diff += Math.abs(actual.data[i]! - expected.data[i]!);
        const mean = diff / actual.data.length;
        assert.ok(mean < 12, `${kind}_${n} differs from ${kind}_1 by ${mean.toFixed(1)} per channel: not upright`);
      }
    }
  });

  it('keeps an animated GIF animated in its WebP variant', async () => {
    const colours = ['#ff0000', '#00ff00', '#0000ff', '#ffff00'];
    const frames = await Promise.all(colours.map((background) => sharp({ create: { width: 40, height: 40, channels: 3, background } }).png().toBuffer()));
    const gif = await sharp(frames, { join: { animated: true } }).gif({ loop: 0 }).toBuffer();
    assert.equal((await sharp(gif).metadata()).pages, colours.length);
    const image = await uploadOne(t, ['spinner.gif', gif]);
    const { res, bytes } = await fetchImage(`${image.url}/custom?w=32`, 'image/webp');
    assert.equal(res.headers.get('content-type'), 'image/webp');
    const meta = await sharp(bytes, { animated: true }).metadata();
    assert.equal(meta.pages, colours.length);
    assert.equal(meta.width, 32);
  });

  it('takes HEIC photos from phones, keeps the original and serves web variants', async () => {
    for (const [name, width, height] of [
      ['IMG_5195.HEIC', 2566, 3313],
      ['samplefilehub.heif', 640, 426],
    ] as const) {
      const res = await t.upload([fixture(`heic/${name}`)]);
      assert.equal(res.status, 201, await res.clone().text());
      const image = (await res.json()) as Image & { format: string; content_type: string; width: number; height: number };
      assert.deepEqual([image.format, image.content_type, image.width, image.height], ['heic', 'image/heic', width, height]);
      const original = await fetchImage(image.url);
      assert.equal(original.res.headers.get('content-type'), 'image/heic');
      const { res: variant, bytes } = await fetchImage(image.variants.small!, 'image/webp,image/*');
      assert.equal(variant.headers.get('content-type'), 'image/webp');
      const meta = await sharp(bytes).metadata();
      assert.equal(Math.max(meta.width, meta.height), 256);
      assert.equal(meta.width > meta.height, width > height, `${name} keeps its orientation`);
    }
  });

  it('refuses a HEIC cut in half with corrupt_image and stores nothing', async () => {
    const { readFile } = await import('node:fs/promises');
    const whole = await readFile(fixture('heic/IMG_5195.HEIC'));
    const before = await t.stored();
    const res = await t.upload([['half.heic', whole.subarray(0, whole.length >> 1)]]);
    assert.equal(res.status, 422);
    assert.equal(((await res.json()) as { code: string }).code, 'corrupt_image');
    assert.deepEqual(await t.stored(), before);
  });

  it('renders on-the-fly sizes from the allowlist and refuses others', async () => {
    const image = await uploadOne(t, fixture('jpg/gps/DSCN0027.jpg'));
    const ok = await fetchImage(`${image.url}/custom?w=128&h=128&fit=cover&format=jpeg&q=75`);
    assert.equal(ok.res.status, 200);
    const meta = await sharp(ok.bytes).metadata();
    assert.deepEqual([meta.width, meta.height, meta.format], [128, 128, 'jpeg']);

    const refusals: [string, string][] = [
      ['w=123', 'validation_failed'],
      ['w=99999', 'validation_failed'],
      ['w=128&q=33', 'validation_failed'],
      ['w=128&fit=stretch', 'validation_failed'],
      ['w=128&format=bmp', 'validation_failed'],
      ['fit=cover', 'validation_failed'],
      ['w=abc', 'validation_failed'],
    ];
    for (const [query, code] of refusals) {
      const res = await fetch(`${image.url}/custom?${query}`);
      assert.equal(res.status, 400, query);
      assert.equal(res.headers.get('content-type'), 'application/problem+json; charset=utf-8');
      assert.equal(((await res.json()) as { code: string }).code, code, query);
    }
    const unknownPreset = await fetch(`${image.url}/huge`);
    assert.equal(unknownPreset.status, 404);
    assert.equal(((await unknownPreset.json()) as { code: string }).code, 'not_found');
    // Nothing was rendered for the refused requests: only the one good variant is cached.
    const cached = await t.blobKeys('variants/');
    assert.ok(!cached.some((name) => name.includes('w123') || name.includes('w99999')));
  });

  it('accepts any bounded size with a valid signature and refuses a wrong one', async () => {
    const image = await uploadOne(t, fixture('jpg/gps/DSCN0029.jpg'));
    const minted = await fetch(`${t.url}/api/v1/images/${image.id}/variant-url`, {
      method: 'POST',
      headers: { ...t.auth, 'content-type': 'application/json' },
      body: JSON.stringify({ w: 123, format: 'webp' }),
    });
    assert.equal(minted.status, 200);
    const { url } = (await minted.json()) as { url: string };
    assert.ok(url.startsWith(`${image.url}/custom?w=123&`), url);
    const signed = await fetchImage(url);
    assert.equal(signed.res.status, 200);
    assert.equal(signed.res.headers.get('content-type'), 'image/webp');
    assert.equal((await sharp(signed.bytes).metadata()).width, 123);
    // The same signature made by hand with the documented scheme.
    const options = { width: 123, height: null, fit: 'inside' as const, format: 'webp' as const, quality: null };
    assert.equal(new URL(url).searchParams.get('s'), signOptions(`transform:${t.app.signingSecret}`, image.filename, options));

    const tampered = await fetch(url.replace('w=123', 'w=124'));
    assert.equal(tampered.status, 403);
    assert.equal(((await tampered.json()) as { code: string }).code, 'forbidden');
    const tooBig = await fetch(`${t.url}/api/v1/images/${image.id}/variant-url`, {
      method: 'POST',
      headers: { ...t.auth, 'content-type': 'application/json' },
      body: JSON.stringify({ w: 99_999 }),
    });
    assert.equal(tooBig.status, 400);
    assert.equal(((await tooBig.json()) as { code: string }).code, 'validation_failed');
    const anonymous = await fetch(`${t.url}/api/v1/images/${image.id}/variant-url`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ w: 123 }),
    });
    assert.equal(anonymous.status, 401);
  });

  it('answers 304 to a revalidation with the strong ETag', async () => {
    const image = await uploadOne(t, fixture('jpg/gps/DSCN0038.jpg'));
    const first = await fetchImage(image.variants.small!, 'image/webp');
    const etag = first.res.headers.get('etag');
    assert.match(etag ?? '', /^"[0-9a-f]{32}"$/);
    const again = await fetch(image.variants.small!, { headers: { accept: 'image/webp', 'if-none-match': etag! } });
    assert.equal(again.status, 304);
  });

  it('computes a variant once for a burst of concurrent requests', async () => {
    const image = await uploadOne(t, fixture('jpg/gps/DSCN0040.jpg'));
    const before = await renderedCount(t);
    const results = await Promise.all(Array.from({ length: 12 }, () => fetchImage(`${image.url}/custom?w=320&format=jpeg`)));
    for (const { res } of results) assert.equal(res.status, 200);
    const first = results[0]!.bytes;
    for (const { bytes } of results) assert.deepEqual(bytes, first);
    assert.equal((await renderedCount(t)) - before, 1);
  });

  it('does not serve a private image\'s variants without a credential', async () => {
    const image = await uploadOne(t, fixture('jpg/gps/DSCN0042.jpg'), { visibility: 'private' });
    const anonymous = await fetch(image.variants.small!);
    assert.equal(anonymous.status, 404);
    assert.equal(((await anonymous.json()) as { code: string }).code, 'not_found');
    const owner = await fetchImage(image.variants.small!, 'image/webp', t.auth);
    assert.equal(owner.res.status, 200);
    assert.equal(owner.res.headers.get('cache-control'), 'private, no-cache');
  });
});

describe('variants with signing required', () => {
  let t: TestApp;
  before(async () => {
    t = await startApp({ RUN_WORKERS: 'false', TRANSFORM_SIGNING: 'required' });
  });
  after(() => t.close());

  it('refuses unsigned on-the-fly parameters but still serves presets', async () => {
    const image = await uploadOne(t, fixture('jpg/Canon_40D.jpg'));
    const res = await fetch(`${image.url}/custom?w=128`);
    assert.equal(res.status, 403);
    assert.equal(((await res.json()) as { code: string }).code, 'forbidden');
    const preset = await fetch(image.variants.small!);
    assert.equal(preset.status, 200);
    await preset.arrayBuffer();
  });
});
