import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { describe, it } from 'node:test';
import sharp from 'sharp';
import { exifWithin, readExif } from '../../src/core/metadata/exif.js';
import { fixture } from '../helpers/app.js';

describe('exifWithin: when the head of a file is enough to read its metadata', () => {
  it('says yes for a JPEG head that holds the whole header, and reads the same location from it', async () => {
    const bytes = await readFile(fixture('jpg/gps/DSCN0010.jpg'));
    const head = bytes.subarray(0, 64 * 1024);
    assert.equal(exifWithin(head), true);
    assert.deepEqual(await readExif(head), await readExif(bytes));
    assert.ok((await readExif(head))?.gps);
  });

  it('says no for a head cut inside the JPEG header, for PNG and TIFF, and for nothing', async () => {
    const bytes = await readFile(fixture('jpg/gps/DSCN0010.jpg'));
    assert.equal(exifWithin(bytes.subarray(0, 1000)), false);
    const png = await sharp(bytes).resize(16).png().toBuffer();
    assert.equal(exifWithin(png), false);
    assert.equal(exifWithin(await readFile(fixture('tiff/Arbitro.tiff'))), false);
    assert.equal(exifWithin(Buffer.alloc(0)), false);
  });
});
