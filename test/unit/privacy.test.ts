// GPS removal without a copy: scrubbed in the caller's buffer when asked, the same bytes as a scrubbed copy.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { readExif } from '../../src/core/metadata/exif.js';
import { scrubGps } from '../../src/core/metadata/privacy.js';
import { largePng } from '../helpers/located-images.js';

const FIXTURES = path.resolve(import.meta.dirname, '../fixtures/exif-samples/jpg');
const CRC_TABLE = Uint32Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
const crc32 = (data: Buffer): number => (data.reduce((crc, byte) => CRC_TABLE[(crc ^ byte) & 0xff]! ^ (crc >>> 8), 0xffffffff) ^ 0xffffffff) >>> 0;

/** The types of the PNG's chunks whose stored CRC does not match their type and data. */
function badCrcs(png: Buffer): string[] {
  const bad: string[] = [];
  for (let at = 8; at + 12 <= png.length; at += 12 + png.readUInt32BE(at)) {
    const end = at + 8 + png.readUInt32BE(at);
    if (crc32(png.subarray(at + 4, end)) !== png.readUInt32BE(end)) bad.push(png.toString('latin1', at + 4, at + 8));
  }
  return bad;
}

const located = (): Buffer => readFileSync(path.join(FIXTURES, 'gps/DSCN0010.jpg'));

describe('scrubGps', () => {
  it('leaves the input as it was by default and answers a scrubbed copy', async () => {
    const input = located();
    const before = Buffer.from(input);
    const { bytes, changed } = scrubGps(input);
    assert.equal(changed, true);
    assert.notEqual(bytes.buffer, input.buffer);
    assert.deepEqual(input, before, 'the input is untouched');
    assert.ok((await readExif(input))?.gps?.latitude, 'the input still has its location');
    assert.equal((await readExif(bytes))?.gps?.latitude ?? null, null);
  });

  it('scrubs a JPEG in place when asked, to the same bytes as the copy', async () => {
    const copied = scrubGps(located()).bytes;
    const input = located();
    const { bytes, changed } = scrubGps(input, { inPlace: true });
    assert.equal(changed, true);
    assert.equal(bytes, input, 'no copy: the input itself');
    assert.deepEqual(bytes, copied);
    assert.equal((await readExif(input))?.gps?.latitude ?? null, null, 'no location left in the input');
  });

  it('still copies a PNG asked to scrub in place: its CRCs are mended against the original chunks', async () => {
    const input = await largePng(true, 64, 48);
    const before = Buffer.from(input);
    const { bytes, changed } = scrubGps(input, { inPlace: true });
    assert.equal(changed, true);
    assert.notEqual(bytes, input);
    assert.deepEqual(input, before, 'the input is untouched');
    assert.deepEqual(bytes, scrubGps(before).bytes);
    // Decoders may drop an ancillary chunk whose CRC is wrong (the eXIf rewritten here): every CRC must hold.
    assert.deepEqual(badCrcs(bytes), []);
    assert.equal((await readExif(bytes))?.gps?.latitude ?? null, null);
  });
});
