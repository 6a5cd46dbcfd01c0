// Content negotiation of variants by the Accept header's q-values: q=0 refuses a format, higher q wins, wildcards alone get JPEG.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import sharp from 'sharp';
import { fixture, startApp, type TestApp } from '../helpers/app.js';
import type { Image } from '../helpers/images.js';

describe('variant formats by Accept q-values', () => {
  let t: TestApp;
  let small: string;

  before(async () => {
    t = await startApp();
    const res = await t.upload([fixture('jpg/gps/DSCN0021.jpg')]);
    assert.equal(res.status, 201, await res.clone().text());
    small = ((await res.json()) as Image).variants.small!;
  });
  after(() => t.close());

  /** The Content-Type answered for this Accept header, checked against the bytes' real format. */
  async function formatFor(accept: string): Promise<string> {
    const res = await fetch(small, { headers: { accept } });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('vary'), 'Accept');
    const type = res.headers.get('content-type')!;
    const format = (await sharp(Buffer.from(await res.arrayBuffer())).metadata()).format;
    assert.equal(format, { 'image/avif': 'heif', 'image/webp': 'webp', 'image/jpeg': 'jpeg' }[type], `bytes of ${type}`);
    return type;
  }

  it('takes image/avif;q=0 as a refusal, whatever else the header names', async () => {
    assert.equal(await formatFor('image/avif;q=0,image/webp,*/*'), 'image/webp');
    assert.equal(await formatFor('image/avif;q=0, */*;q=0.8'), 'image/jpeg');
    assert.equal(await formatFor('image/webp;q=0,image/avif;q=0,image/*'), 'image/jpeg');
  });

  it('answers the format the client prefers by q, not the one the server would pick first', async () => {
    assert.equal(await formatFor('image/webp;q=0.9,image/avif;q=0.5'), 'image/webp');
    assert.equal(await formatFor('image/avif;q=0.6,image/webp;q=0.5,*/*;q=0.1'), 'image/avif');
    assert.equal(await formatFor('image/jpeg,image/webp;q=0.5'), 'image/jpeg');
    assert.equal(await formatFor('image/jpeg;q=0.5,image/webp'), 'image/webp');
  });

  it('answers AVIF before WebP when the client likes both alike, and JPEG to wildcards alone', async () => {
    assert.equal(await formatFor('image/avif,image/webp,image/*,*/*;q=0.8'), 'image/avif');
    assert.equal(await formatFor('*/*'), 'image/jpeg');
    assert.equal(await formatFor('image/*'), 'image/jpeg');
  });

  it('keeps each negotiated answer apart when the same URL is asked with different headers in turn', async () => {
    for (let i = 0; i < 2; i += 1) {
      assert.equal(await formatFor('image/avif;q=0,image/webp'), 'image/webp');
      assert.equal(await formatFor('image/avif'), 'image/avif');
      assert.equal(await formatFor('image/avif;q=0'), 'image/jpeg');
    }
  });
});
