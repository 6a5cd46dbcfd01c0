import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { ImgdError, type ErrorCode } from '../../src/core/errors.js';
import { decodeHeic, heicSize, heicToSharp, isHeic, type DecodedHeic } from '../../src/core/codecs/heic/heic.js';

// Computed here rather than taken from helpers/app.ts, which would import the whole app for one path.
const FIXTURES = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'exif-samples');
const IPHONE = { file: 'heic/IMG_5195.HEIC', width: 2566, height: 3313 };
const SAMPLE = { file: 'heic/samplefilehub.heif', width: 640, height: 426 };
const NO_LIMIT = { pixels: Number.MAX_SAFE_INTEGER };

/** Fails instead of hanging if a broken file ever stalls the decoder; not a measure of speed. */
async function settled<T>(work: Promise<T>, ms = 30_000): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const guard = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`still running after ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([work, guard]);
  } finally {
    clearTimeout(timer);
  }
}

const refusedWith =
  (code: ErrorCode) =>
  (err: unknown): boolean => {
    assert.ok(err instanceof ImgdError, `expected an ImgdError, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    return true;
  };

/** An ftyp box with the given brands, padded as if the file went on. */
function ftyp(major: string, ...compatible: string[]): Buffer {
  const size = 16 + 4 * compatible.length;
  const head = Buffer.alloc(size + 32);
  head.writeUInt32BE(size, 0);
  head.write(`ftyp${major}`, 4, 'latin1');
  compatible.forEach((brand, i) => head.write(brand, 16 + 4 * i, 'latin1'));
  return head;
}

/** The iPhone photo with its irot property set to `quarterTurns` * 90 degrees counter-clockwise. */
function rotated(bytes: Buffer, quarterTurns: number): Buffer {
  const at = bytes.indexOf('irot', 0, 'latin1');
  assert.ok(at > 0, 'the fixture carries an irot box');
  const copy = Buffer.from(bytes);
  copy[at + 4] = quarterTurns;
  return copy;
}

/**
 * The iPhone photo with a clean aperture of widthN/widthD x heightN/heightD in place of its colour profile box
 * (same size, same property index, so nothing else in the file moves).
 */
function cropped(bytes: Buffer, widthN: number, widthD: number, heightN: number, heightD: number): Buffer {
  const at = bytes.indexOf('colr', 0, 'latin1') - 4;
  const copy = Buffer.from(bytes);
  copy.fill(0, at + 8, at + bytes.readUInt32BE(at));
  copy.write('clap', at + 4, 'latin1');
  [widthN, widthD, heightN, heightD, 0, 1, 0, 1].forEach((v, i) => copy.writeUInt32BE(v, at + 8 + 4 * i));
  return copy;
}

/** The file with every byte of its mdat payload zeroed: the container is intact, the pixels undecodable. */
function blanked(bytes: Buffer): Buffer {
  const copy = Buffer.from(bytes);
  copy.fill(0, bytes.indexOf('mdat', 0, 'latin1') + 4);
  return copy;
}

const rgbAt = (image: DecodedHeic, x: number, y: number): number[] => {
  const at = (y * image.width + x) * 4;
  return [...image.data.subarray(at, at + 3)];
};

describe('HEIC decoding', () => {
  const bytes: Record<string, Buffer> = {};
  before(async () => {
    for (const { file } of [IPHONE, SAMPLE]) bytes[file] = await readFile(path.join(FIXTURES, file));
    bytes.jpeg = await readFile(path.join(FIXTURES, 'jpg/Canon_40D.jpg'));
    bytes.png = await sharp({ create: { width: 8, height: 8, channels: 3, background: 'blue' } }).png().toBuffer();
    bytes.avif = await sharp({ create: { width: 8, height: 8, channels: 3, background: 'red' } }).avif().toBuffer();
  });
  const fixture = (file: string): Buffer => bytes[file] ?? assert.fail(`${file} not loaded`);

  describe('isHeic', () => {
    it('recognises both fixtures', () => {
      assert.equal(isHeic(fixture(IPHONE.file)), true);
      assert.equal(isHeic(fixture(SAMPLE.file)), true);
    });

    it('does not claim JPEG, PNG or AVIF, although AVIF lists mif1 among its brands', () => {
      assert.equal(isHeic(fixture('jpeg')), false);
      assert.equal(isHeic(fixture('png')), false);
      assert.match(fixture('avif').toString('latin1', 16, 32), /mif1/);
      assert.equal(isHeic(fixture('avif')), false);
    });

    it('decides by the brands: HEVC ones yes, mif1 next to avif no, other ISO-BMFF no', () => {
      assert.equal(isHeic(ftyp('heix', 'mif1')), true);
      assert.equal(isHeic(ftyp('mif1', 'heic')), true);
      assert.equal(isHeic(ftyp('msf1', 'hevc')), true);
      assert.equal(isHeic(ftyp('mif1', 'mif1', 'miaf')), true, 'a generic HEIF with no AV1 brand is tried as HEIC');
      assert.equal(isHeic(ftyp('mif1', 'avif', 'mif1', 'miaf')), false, 'an AVIF whose writer put mif1 first');
      assert.equal(isHeic(ftyp('avis', 'msf1', 'heic')), false, 'the major brand avis settles it');
      assert.equal(isHeic(ftyp('isom', 'iso2', 'mp41')), false, 'an MP4 video');
    });

    it('says no to short and garbage input', () => {
      assert.equal(isHeic(Buffer.alloc(0)), false);
      assert.equal(isHeic(fixture(IPHONE.file).subarray(0, 11)), false);
      assert.equal(isHeic(Buffer.from('ftypheic')), false);
      assert.equal(isHeic(randomBytes(64)), false);
      assert.equal(isHeic(Buffer.alloc(64)), false);
    });
  });

  describe('heicSize', () => {
    it('reads the primary image size from the container, as sharp reads it from the header', async () => {
      for (const { file, width, height } of [IPHONE, SAMPLE]) {
        assert.deepEqual(heicSize(fixture(file)), { width, height }, file);
        const meta = await sharp(fixture(file)).metadata();
        assert.deepEqual([meta.width, meta.height], [width, height], `${file} per sharp`);
      }
    });

    it('needs only the container, not the pixel data', () => {
      const half = fixture(IPHONE.file).subarray(0, fixture(IPHONE.file).length >> 1);
      assert.deepEqual(heicSize(half), { width: IPHONE.width, height: IPHONE.height });
    });

    it('swaps width and height when irot turns the image a quarter', () => {
      assert.deepEqual(heicSize(rotated(fixture(IPHONE.file), 1)), { width: IPHONE.height, height: IPHONE.width });
      assert.deepEqual(heicSize(rotated(fixture(IPHONE.file), 2)), { width: IPHONE.width, height: IPHONE.height });
    });

    it('crops to a clean aperture (clap) as libheif does, rounding a fractional size', async () => {
      const clapped = cropped(fixture(IPHONE.file), 2001, 1, 1501, 3);
      assert.deepEqual(heicSize(clapped), { width: 2001, height: 500 });
      const meta = await sharp(clapped).metadata();
      assert.deepEqual([meta.width, meta.height], [2001, 500], 'per sharp, whose libheif reads the same header');
    });

    it('gives undefined for what it cannot read', () => {
      assert.equal(heicSize(fixture('jpeg')), undefined);
      assert.equal(heicSize(fixture('avif')), undefined);
      assert.equal(heicSize(fixture(IPHONE.file).subarray(0, 200)), undefined, 'cut inside the meta box');
      assert.equal(heicSize(Buffer.concat([fixture(IPHONE.file).subarray(0, 24), randomBytes(4000)])), undefined);
    });
  });

  describe('decodeHeic', () => {
    const decoded: Record<string, DecodedHeic> = {};

    it('decodes both fixtures to RGBA of their size', async () => {
      for (const { file, width, height } of [IPHONE, SAMPLE]) {
        const image = await settled(decodeHeic(fixture(file), NO_LIMIT));
        decoded[file] = image;
        assert.equal(image.width, width, file);
        assert.equal(image.height, height, file);
        assert.ok(Buffer.isBuffer(image.data));
        assert.equal(image.data.length, width * height * 4, file);
        const colours = new Set<number>();
        for (let i = 0; i < image.data.length; i += 4 * 997) colours.add(image.data.readUInt32BE(i));
        assert.ok(colours.size > 100, `${file}: a photo has many colours, got ${colours.size}`);
        assert.equal(image.data[3], 255, `${file}: opaque`);
      }
    });

    it('applies irot itself, so the pixels come out already turned', async () => {
      const upright = decoded[IPHONE.file] ?? (await decodeHeic(fixture(IPHONE.file), NO_LIMIT));
      const turned = await settled(decodeHeic(rotated(fixture(IPHONE.file), 1), NO_LIMIT));
      assert.deepEqual([turned.width, turned.height], [IPHONE.height, IPHONE.width]);
      // A quarter turn counter-clockwise brings the top-right corner to the top-left.
      const expected = rgbAt(upright, upright.width - 1, 0);
      rgbAt(turned, 0, 0).forEach((v, i) => assert.ok(Math.abs(v - (expected[i] ?? -99)) <= 4, `${rgbAt(turned, 0, 0)} vs ${expected}`));
    });

    it('refuses a truncated file as corrupt_image', async () => {
      for (const { file } of [IPHONE, SAMPLE]) {
        const half = fixture(file).subarray(0, fixture(file).length >> 1);
        await assert.rejects(settled(decodeHeic(half, NO_LIMIT)), refusedWith('corrupt_image'), file);
      }
    });

    it('refuses garbage behind a HEIC ftyp as corrupt_image', async () => {
      const garbage = Buffer.concat([fixture(IPHONE.file).subarray(0, 24), randomBytes(4000)]);
      await assert.rejects(settled(decodeHeic(garbage, NO_LIMIT)), refusedWith('corrupt_image'));
      await assert.rejects(settled(decodeHeic(fixture(IPHONE.file).subarray(0, 24), NO_LIMIT)), refusedWith('corrupt_image'));
      await assert.rejects(settled(decodeHeic(blanked(fixture(SAMPLE.file)), NO_LIMIT)), refusedWith('corrupt_image'));
    });

    it('refuses what is not HEIC at all as corrupt_image', async () => {
      await assert.rejects(settled(decodeHeic(fixture('jpeg'), NO_LIMIT)), refusedWith('corrupt_image'));
    });

    it('refuses an image over the pixel limit with image_too_large', async () => {
      const pixels = IPHONE.width * IPHONE.height;
      await assert.rejects(decodeHeic(fixture(IPHONE.file), { pixels: pixels - 1 }), (err: unknown) => {
        refusedWith('image_too_large')(err);
        assert.deepEqual((err as ImgdError).extra, { width: IPHONE.width, height: IPHONE.height, limit: pixels - 1 });
        return true;
      });
      const exact = await settled(decodeHeic(fixture(SAMPLE.file), { pixels: SAMPLE.width * SAMPLE.height }));
      assert.equal(exact.width, SAMPLE.width, 'a limit equal to the size lets it through');
    });

    it('checks the limit before decoding: undecodable pixels over the limit are too large, not corrupt', async () => {
      const undecodable = blanked(fixture(IPHONE.file));
      await assert.rejects(settled(decodeHeic(undecodable, { pixels: 1000 })), refusedWith('image_too_large'));
    });
  });

  describe('heicToSharp', () => {
    it('feeds the decoded pixels to sharp for the usual resize and encode', async () => {
      const jpeg = await (await settled(heicToSharp(fixture(IPHONE.file), NO_LIMIT))).resize(256).jpeg().toBuffer();
      const meta = await sharp(jpeg).metadata();
      assert.equal(meta.format, 'jpeg');
      assert.equal(meta.width, 256);
      assert.equal(meta.height, Math.round((256 * IPHONE.height) / IPHONE.width));
    });

    it('drops the alpha channel of an opaque photo and carries no EXIF orientation to apply twice', async () => {
      const pipeline = await settled(heicToSharp(fixture(SAMPLE.file), NO_LIMIT));
      const { info } = await pipeline.clone().rotate().png().toBuffer({ resolveWithObject: true });
      assert.equal(info.channels, 3);
      assert.deepEqual([info.width, info.height], [SAMPLE.width, SAMPLE.height], 'rotate() finds nothing to turn');
      assert.equal((await pipeline.metadata()).orientation, undefined);
    });

    it('passes the refusals through', async () => {
      await assert.rejects(heicToSharp(fixture(SAMPLE.file), { pixels: 10 }), refusedWith('image_too_large'));
      const half = fixture(SAMPLE.file).subarray(0, fixture(SAMPLE.file).length >> 1);
      await assert.rejects(settled(heicToSharp(half, NO_LIMIT)), refusedWith('corrupt_image'));
    });
  });
});
