// GPS removal at ingest for large PNGs and WebPs, whose EXIF can follow megabytes of pixel data.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { readExif } from '../../src/core/metadata/exif.js';
import { startApp, type TestApp } from '../helpers/app.js';
import { PARIS, largePng, largeWebp } from '../helpers/located-images.js';
import { uploadOne, type Image } from '../helpers/images.js';

/** The image with the EXIF fields these tests read. */
type Located = Image & { exif: { gps: { latitude: number; longitude: number } | null } | null };

describe('locations in large PNG and WebP uploads', () => {
  let t: TestApp;

  before(async () => {
    t = await startApp({ RUN_WORKERS: 'false' });
  });
  after(() => t.close());

  for (const [format, make] of [
    ['PNG', () => largePng()],
    ['WebP', () => largeWebp()],
  ] as const) {
    it(`stores a ${format} whose EXIF follows the pixels without its location, which only the owner sees`, async () => {
      const bytes = await make();
      assert.ok(bytes.length > 512 * 1024, 'larger than the head ingest reads first');
      // The service's own reader: exifr has none for WebP.
      assert.ok((await readExif(bytes))?.gps?.latitude, 'carries GPS to begin with');
      const image = await uploadOne(t, [`late.${format.toLowerCase()}`, bytes]);
      const served = Buffer.from(await (await fetch(image.url)).arrayBuffer());
      assert.equal(served.length, image.bytes);
      assert.notEqual(image.sha256, createHash('sha256').update(bytes).digest('hex'), 'stored bytes differ from the upload');
      const left = await readExif(served);
      assert.ok(left, 'the rest of the EXIF is kept');
      assert.equal(left.gps?.latitude ?? null, null, 'no GPS in the served bytes');
      const asOwner = (await (await fetch(`${t.url}/api/v1/images/${image.id}`, { headers: t.auth })).json()) as Located;
      assert.ok(asOwner.exif?.gps, 'the owner sees the location');
      assert.ok(Math.abs(asOwner.exif.gps.latitude - PARIS.latitude) < 1e-6);
      assert.ok(Math.abs(asOwner.exif.gps.longitude - PARIS.longitude) < 1e-6);
    });
  }

  it('stores a large PNG without a location byte for byte as uploaded', async () => {
    const bytes = await largePng(false);
    const image = await uploadOne(t, ['plain.png', bytes]);
    assert.equal(image.sha256, createHash('sha256').update(bytes).digest('hex'));
    assert.deepEqual(Buffer.from(await (await fetch(image.url)).arrayBuffer()), bytes);
  });
});
