// The BMP decoder: the pixels ImageMagick reads from every layout BMP writers use, and clean refusals of broken files.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { bmpSize, decodeBmp, isBmp, type DecodedBmp } from '../../src/core/codecs/bmp/bmp.js';
import { detectFormat } from '../../src/core/formats.js';
import { ImgdError } from '../../src/core/errors.js';

const DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'bmp');
const NAMES = ['rgb24', 'v5-rgb24', 'palette8', 'palette4', 'rle8', 'bilevel', 'rgb565', 'alpha32'];
const load = (name: string): Promise<Buffer> => readFile(path.join(DIR, `${name}.bmp`));

const rgba = async (d: DecodedBmp): Promise<Buffer> =>
  sharp(d.data, { raw: { width: d.width, height: d.height, channels: d.channels } }).ensureAlpha().raw().toBuffer();

/** The largest difference of any channel of any pixel. */
function maxDifference(a: Buffer, b: Buffer): number {
  assert.equal(a.length, b.length);
  let max = 0;
  for (let i = 0; i < a.length; i += 1) max = Math.max(max, Math.abs(a[i]! - b[i]!));
  return max;
}

function refused(bytes: Buffer, why: RegExp): void {
  assert.throws(() => decodeBmp(bytes), (err: unknown) => err instanceof ImgdError && err.code === 'corrupt_image' && why.test(err.message));
}

/** rgb24.bmp stored top-down: negative height, rows in the other order. */
function topDown(bmp: Buffer): Buffer {
  const out = Buffer.from(bmp);
  const offset = bmp.readUInt32LE(10);
  const width = bmp.readInt32LE(18);
  const height = bmp.readInt32LE(22);
  const stride = Math.floor((24 * width + 31) / 32) * 4;
  out.writeInt32LE(-height, 22);
  for (let row = 0; row < height; row += 1) bmp.copy(out, offset + row * stride, offset + (height - 1 - row) * stride, offset + (height - row) * stride);
  return out;
}

/** A 4 x 2 RLE4 bitmap by hand: a run, an absolute run, end of line, a delta, end of bitmap. */
function rle4(): { bytes: Buffer; expected: number[][] } {
  const palette = [
    [0, 0, 0],
    [255, 0, 0],
    [0, 255, 0],
    [0, 0, 255],
  ];
  // Bottom row: a run of one index 1, then absolute 2, 3, 3, end of line. Top row: delta +2, then a run of two 3s.
  const data = Buffer.from([1, 0x11, 0, 3, 0x23, 0x30, 0, 0, 0, 2, 2, 0, 2, 0x33, 0, 1]);
  const header = Buffer.alloc(54 + 16);
  header.write('BM', 0, 'latin1');
  header.writeUInt32LE(header.length + data.length, 2);
  header.writeUInt32LE(header.length, 10);
  header.writeUInt32LE(40, 14);
  header.writeInt32LE(4, 18);
  header.writeInt32LE(2, 22);
  header.writeUInt16LE(1, 26);
  header.writeUInt16LE(4, 28);
  header.writeUInt32LE(2, 30);
  header.writeUInt32LE(4, 46);
  palette.forEach(([r, g, b], i) => header.set([b!, g!, r!, 0], 54 + i * 4));
  const top = [palette[0], palette[0], palette[3], palette[3]];
  const bottom = [palette[1], palette[2], palette[3], palette[3]];
  return { bytes: Buffer.concat([header, data]), expected: [...top, ...bottom] as number[][] };
}

describe('BMP decoding', () => {
  it('reads every layout to the pixels ImageMagick reads', async () => {
    for (const name of NAMES) {
      const bytes = await load(name);
      assert.equal(detectFormat(bytes.subarray(0, 64)), 'bmp', name);
      assert.deepEqual(bmpSize(bytes), { width: 100, height: 68 }, name);
      const decoded = decodeBmp(bytes);
      assert.equal(decoded.channels, name === 'alpha32' ? 4 : 3, name);
      const reference = await sharp(path.join(DIR, `${name}.reference.png`)).ensureAlpha().raw().toBuffer();
      // 5-6-5 channels scale to 8 bits with a rounding ImageMagick does its own way.
      assert.ok(maxDifference(await rgba(decoded), reference) <= (name === 'rgb565' ? 1 : 0), name);
    }
  });

  it('reads a top-down bitmap, and pixels after a gap the header points past', async () => {
    const bytes = await load('rgb24');
    const expected = await rgba(decodeBmp(bytes));
    assert.deepEqual(await rgba(decodeBmp(topDown(bytes))), expected);
    const offset = bytes.readUInt32LE(10);
    const gap = Buffer.concat([bytes.subarray(0, offset), Buffer.alloc(64, 0xee), bytes.subarray(offset)]);
    gap.writeUInt32LE(offset + 64, 10);
    assert.deepEqual(await rgba(decodeBmp(gap)), expected);
  });

  it('reads RLE4 runs, absolute runs, line ends and deltas', () => {
    const { bytes, expected } = rle4();
    const decoded = decodeBmp(bytes);
    assert.equal(decoded.channels, 3);
    const pixels = [];
    for (let i = 0; i < decoded.data.length; i += 3) pixels.push([...decoded.data.subarray(i, i + 3)]);
    assert.deepEqual(pixels, expected);
  });

  it('refuses broken files with corrupt_image and one clear reason', async () => {
    const bytes = await load('rgb24');
    refused(bytes.subarray(0, bytes.length - 100), /pixel data is cut short/);
    refused(bytes.subarray(0, 30), /header is cut short/);
    const twoBits = Buffer.from(bytes);
    twoBits.writeUInt16LE(2, 28);
    refused(twoBits, /2 bits per pixel/);
    const rleOn24 = Buffer.from(bytes);
    rleOn24.writeUInt32LE(1, 30);
    refused(rleOn24, /compression 1 with 24 bits/);
    const zeroWidth = Buffer.from(bytes);
    zeroWidth.writeInt32LE(0, 18);
    refused(zeroWidth, /impossible size/);
    const pastEnd = Buffer.from(bytes);
    pastEnd.writeUInt32LE(bytes.length + 10, 10);
    refused(pastEnd, /not where the header says/);
    const rle = await load('rle8');
    refused(rle.subarray(0, rle.length - 200), /RLE data is cut short/);
  });

  it('stays bounded on an RLE file whose runs claim far more than a row', () => {
    const { bytes } = rle4();
    const runs = Buffer.alloc(200_000);
    for (let i = 0; i < runs.length; i += 2) runs[i] = 255;
    const flood = Buffer.concat([bytes.subarray(0, bytes.readUInt32LE(10)), runs, Buffer.from([0, 1])]);
    assert.equal(decodeBmp(flood).width, 4);
  });

  it('tells a bitmap from text that starts with "BM"', () => {
    assert.equal(isBmp(Buffer.from('BMW 3 series, 2004, low mileage, one owner')), false);
    assert.equal(detectFormat(Buffer.from('BMW 3 series, 2004, low mileage, one owner')), undefined);
  });
});
