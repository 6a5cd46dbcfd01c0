import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { readExif } from '../../src/core/metadata/exif.js';
import { metadataView } from '../../src/core/metadata/metadata-view.js';
import { PARIS, largePng, largeWebp } from '../helpers/located-images.js';

describe('metadataView: a PNG or WebP without its pixels', () => {
  let dir: string;
  const write = async (name: string, bytes: Buffer): Promise<string> => {
    const file = path.join(dir, name);
    await writeFile(file, bytes);
    return file;
  };

  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'imgd-view-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('keeps the EXIF that follows a PNG\'s pixel data and leaves out every IDAT byte', async () => {
    const png = await largePng();
    const view = await metadataView(await write('late.png', png), 'png');
    assert.ok(view);
    assert.ok(view.length < 2048, `view of ${view.length} bytes for a ${png.length}-byte file`);
    assert.equal(view.includes(Buffer.from('IDAT')), false);
    const exif = await readExif(view);
    assert.ok(exif?.gps);
    assert.ok(Math.abs(exif.gps.latitude! - PARIS.latitude) < 1e-6);
    assert.deepEqual(exif, await readExif(png));
  });

  it('keeps the EXIF chunk that libwebp writes after the image data of a WebP', async () => {
    const webp = await largeWebp();
    const view = await metadataView(await write('late.webp', webp), 'webp');
    assert.ok(view);
    assert.ok(view.length < 2048, `view of ${view.length} bytes for a ${webp.length}-byte file`);
    assert.deepEqual(await readExif(view), await readExif(webp));
    assert.ok((await readExif(view))?.gps);
  });

  it('gives up (undefined) when the chunks besides the pixels are larger than the bound', async () => {
    const png = await largePng();
    assert.equal(await metadataView(await write('bound.png', png), 'png', 100), undefined);
  });

  it('returns what it gathered from a file cut short in its pixel data, without throwing', async () => {
    const png = await largePng();
    const view = await metadataView(await write('cut.png', png.subarray(0, png.length / 2)), 'png');
    assert.ok(view);
    assert.equal(view.subarray(0, 8).toString('latin1'), png.subarray(0, 8).toString('latin1'));
    assert.equal(view.includes(Buffer.from('IDAT')), false);
  });
});
