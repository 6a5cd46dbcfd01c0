// readLocation, the location-only read that checks scrubbed bytes: the same answer as the full EXIF read, for less.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import sharp from 'sharp';
import { readExif, readLocation } from '../../src/core/metadata/exif.js';
import { scrubGps } from '../../src/core/metadata/privacy.js';
import { PARIS, largePng, largeWebp } from '../helpers/located-images.js';

const JPEGS = path.resolve(import.meta.dirname, '../fixtures/exif-samples/jpg');
const jpegs = readdirSync(JPEGS, { recursive: true, encoding: 'utf8' }).filter((name) => name.endsWith('.jpg'));

/** A JPEG whose only location is in its XMP, as some editors write it. */
const xmpLocated = (): Promise<Buffer> =>
  sharp({ create: { width: 8, height: 8, channels: 3, background: '#888' } })
    .jpeg()
    .withXmp(
      '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">' +
        '<rdf:Description xmlns:exif="http://ns.adobe.com/exif/1.0/" exif:GPSLatitude="48,51.4N" exif:GPSLongitude="2,21.0E"/>' +
        '</rdf:RDF></x:xmpmeta>',
    )
    .toBuffer();

describe('readLocation', () => {
  it("answers readExif's location for every JPEG fixture, located or not, valid or not", async () => {
    assert.ok(jpegs.length > 20);
    let located = 0;
    for (const name of jpegs) {
      const bytes = readFileSync(path.join(JPEGS, name));
      const expected = (await readExif(bytes))?.gps ?? null;
      assert.deepEqual(await readLocation(bytes), expected, name);
      if (expected) located += 1;
    }
    assert.ok(located >= 5, `only ${located} fixtures had a location`);
  });

  it('finds a location held only in XMP, and in the EXIF chunk of a PNG and of a WebP', async () => {
    const xmp = await readLocation(await xmpLocated());
    assert.ok(xmp, 'the XMP location was found');
    assert.equal(xmp.latitude?.toFixed(3), '48.857');
    for (const bytes of [await largePng(), await largeWebp()]) {
      const gps = await readLocation(bytes);
      assert.equal(gps?.latitude?.toFixed(6), PARIS.latitude.toFixed(6));
      assert.equal(gps?.longitude, PARIS.longitude);
    }
  });

  it('answers null once the location is scrubbed, and for bytes that are not an image', async () => {
    const bytes = readFileSync(path.join(JPEGS, 'gps/DSCN0010.jpg'));
    assert.ok(await readLocation(bytes));
    assert.equal(await readLocation(scrubGps(bytes).bytes), null);
    assert.equal(await readLocation(scrubGps(await xmpLocated()).bytes), null);
    assert.equal(await readLocation(Buffer.from('not an image at all')), null);
    assert.equal(await readLocation(Buffer.alloc(0)), null);
  });
});
