// Magic bytes and header-declared sizes: real encoder output, real photos, and headers built byte by byte.
import assert from 'node:assert/strict';
import { open, readdir } from 'node:fs/promises';
import { before, describe, it } from 'node:test';
import sharp from 'sharp';
import { IMAGE_FORMATS, declaredSize, detectFormat, FORMATS, SNIFF_BYTES, type ImageFormat } from '../../src/core/formats.js';
import { fixture, FIXTURES } from '../helpers/app.js';

/** The first bytes of a file, as the upload path sees them. */
async function head(file: string, bytes = SNIFF_BYTES): Promise<Buffer> {
  const handle = await open(file, 'r');
  try {
    const buffer = Buffer.alloc(bytes);
    const { bytesRead } = await handle.read(buffer, 0, bytes, 0);
    return buffer.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}

const cat = (...parts: (Buffer | number[] | string)[]): Buffer =>
  Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p, 'latin1') : Buffer.from(p))));
const u32le = (n: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n);
  return b;
};
const u32be = (n: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
};
const u16le = (n: number): Buffer => {
  const b = Buffer.alloc(2);
  b.writeUInt16LE(n);
  return b;
};
const u24le = (n: number): Buffer => u32le(n).subarray(0, 3);
/** Pads a header out to what an upload would have read, as the rest of a real file would. */
const padded = (buf: Buffer, to = SNIFF_BYTES): Buffer => (buf.length >= to ? buf : Buffer.concat([buf, Buffer.alloc(to - buf.length)]));

function pngHeader(width: number, height: number): Buffer {
  return padded(cat([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], u32be(13), 'IHDR', u32be(width), u32be(height), [8, 6, 0, 0, 0]));
}

function gifHeader(width: number, height: number, version = 'GIF89a'): Buffer {
  return padded(cat(version, u16le(width), u16le(height), [0xf7, 0, 0]));
}

const riff = (chunk: Buffer): Buffer => padded(cat('RIFF', u32le(chunk.length + 4), 'WEBP', chunk));

/** Lossy: a key frame with the start code 9d 01 2a, then 14-bit width and height. */
function webpVp8(width: number, height: number): Buffer {
  return riff(cat('VP8 ', u32le(10), [0x10, 0x02, 0x00], [0x9d, 0x01, 0x2a], u16le(width), u16le(height)));
}

/** Lossless: signature 0x2f, then width-1 and height-1 in 14 bits each. */
function webpVp8l(width: number, height: number): Buffer {
  const bits = ((width - 1) & 0x3fff) | (((height - 1) & 0x3fff) << 14);
  return riff(cat('VP8L', u32le(5), [0x2f], u32le(bits)));
}

/** Extended: flags, three reserved bytes, then canvas width-1 and height-1 in 24 bits each. */
function webpVp8x(width: number, height: number): Buffer {
  return riff(cat('VP8X', u32le(10), [0x10, 0, 0, 0], u24le(width - 1), u24le(height - 1)));
}

describe('detectFormat', () => {
  const encoded = new Map<string, Buffer>();
  before(async () => {
    const photo = sharp(fixture('jpg/Canon_40D.jpg'));
    encoded.set('png', await photo.clone().png().toBuffer());
    encoded.set('gif', await photo.clone().gif().toBuffer());
    encoded.set('webp', await photo.clone().webp().toBuffer());
    encoded.set('avif', await photo.clone().resize(64).avif().toBuffer());
    encoded.set('tiff', await photo.clone().tiff().toBuffer());
    encoded.set('jpeg', await photo.clone().jpeg().toBuffer());
  });

  it('recognises what sharp encodes, for every accepted format sharp can write', () => {
    // sharp cannot encode HEVC (HEIC comes from the phone photos below) nor write SVG (synthetic heads below) or BMP
    // (test/unit/bmp.test.ts has ImageMagick's).
    const writable = IMAGE_FORMATS.filter((f) => f !== 'heic' && f !== 'svg' && f !== 'bmp');
    assert.deepEqual([...encoded.keys()].sort(), [...writable].sort(), 'a case for each such format');
    for (const format of writable) {
      const bytes = encoded.get(format);
      assert.ok(bytes, format);
      assert.equal(detectFormat(bytes.subarray(0, SNIFF_BYTES)), format, format);
    }
  });

  it('recognises the real photos among the fixtures from their first bytes', async () => {
    for (const folder of ['jpg/gps', 'jpg/orientation']) {
      for (const name of await readdir(`${FIXTURES}/${folder}`)) {
        assert.equal(detectFormat(await head(fixture(`${folder}/${name}`))), 'jpeg', `${folder}/${name}`);
      }
    }
    for (const name of ['Canon_40D.jpg', 'Nikon_D70.jpg', 'Reconyx_HC500_Hyperfire.jpg']) {
      assert.equal(detectFormat(await head(fixture(`jpg/${name}`))), 'jpeg', name);
    }
    for (const name of await readdir(`${FIXTURES}/tiff`)) {
      assert.equal(detectFormat(await head(fixture(`tiff/${name}`))), 'tiff', name);
    }
  });

  it('recognises the HEIC/HEIF phone photos as HEIC, not AVIF: the ftyp brands decide', async () => {
    for (const name of await readdir(`${FIXTURES}/heic`)) {
      assert.equal(detectFormat(await head(fixture(`heic/${name}`))), 'heic', name);
    }
  });

  it('recognises minimal synthetic heads of each format', () => {
    const heads: [ImageFormat, Buffer][] = [
      ['jpeg', Buffer.from([0xff, 0xd8, 0xff, 0xe0])],
      ['jpeg', Buffer.from([0xff, 0xd8, 0xff, 0xe1])],
      ['png', pngHeader(1, 1)],
      ['gif', gifHeader(1, 1, 'GIF87a')],
      ['gif', gifHeader(1, 1, 'GIF89a')],
      ['webp', webpVp8(1, 1)],
      ['webp', webpVp8l(1, 1)],
      ['webp', webpVp8x(1, 1)],
      ['tiff', Buffer.from([0x49, 0x49, 0x2a, 0x00, 8, 0, 0, 0])],
      ['tiff', Buffer.from([0x4d, 0x4d, 0x00, 0x2a, 0, 0, 0, 8])],
      ['avif', cat(u32be(32), 'ftyp', 'avif', u32be(0), 'mif1', 'miaf')],
      ['avif', cat(u32be(32), 'ftyp', 'avis', u32be(0), 'msf1', 'avif')],
      ['heic', cat(u32be(24), 'ftyp', 'heic', u32be(0), 'mif1', 'heic')],
      ['heic', cat(u32be(24), 'ftyp', 'mif1', u32be(0), 'mif1', 'heic')],
      ['heic', cat(u32be(24), 'ftyp', 'heix', u32be(0), 'mif1', 'heix')],
      // SVG is only a candidate from its first bytes: the XML parse at commit decides.
      ['svg', Buffer.from('<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"></svg>')],
      ['svg', Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" width="1" height="1"/>')],
      ['svg', cat([0xef, 0xbb, 0xbf], '\n  <!-- drawn by hand -->\n<svg>')],
      ['svg', Buffer.from('<!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN" "http://www.w3.org/Graphics/SVG/1.1/DTD/svg11.dtd">')],
    ];
    for (const [format, bytes] of heads) assert.equal(detectFormat(bytes), format, `${format}: ${bytes.subarray(0, 12).toString('hex')}`);
  });

  it('answers undefined for text, empty, short and look-alike input', () => {
    const refused: [string, Buffer][] = [
      ['empty', Buffer.alloc(0)],
      ['one byte of a JPEG', Buffer.from([0xff])],
      ['two bytes of a JPEG', Buffer.from([0xff, 0xd8])],
      ['half a PNG signature', Buffer.from([0x89, 0x50, 0x4e, 0x47])],
      ['"GIF8"', Buffer.from('GIF8')],
      ['"GIF90a"', Buffer.from('GIF90a')],
      ['text', Buffer.from('just some text, not a picture at all, honestly')],
      ['HTML', Buffer.from('<!doctype html><html><body>hi</body></html>')],
      ['a RIFF WAVE', cat('RIFF', u32le(36), 'WAVE', 'fmt ')],
      ['RIFF cut before its type', Buffer.from('RIFF\x24\x00\x00\x00WE')],
      ['BMP cut before its header size', Buffer.from('BM\x00\x00\x00\x00')],
      ['PDF', Buffer.from('%PDF-1.7\n')],
      ['ZIP', Buffer.from([0x50, 0x4b, 0x03, 0x04])],
      ['an MP4', cat(u32be(24), 'ftyp', 'isom', u32be(0), 'isom', 'mp41')],
      ['ftyp cut before its brand', cat(u32be(24), 'ftyp', 'av')],
      ['TIFF with the wrong magic number', Buffer.from([0x49, 0x49, 0x2b, 0x00])],
      ['zeros', Buffer.alloc(SNIFF_BYTES)],
    ];
    for (const [what, bytes] of refused) assert.equal(detectFormat(bytes), undefined, what);
  });

  it('describes every format it can detect', () => {
    for (const format of IMAGE_FORMATS) {
      assert.equal(FORMATS[format].format, format);
      assert.match(FORMATS[format].contentType, /^image\//);
    }
  });
});

describe('declaredSize', () => {
  it('reads PNG IHDR', () => {
    assert.deepEqual(declaredSize('png', pngHeader(640, 480)), { width: 640, height: 480 });
    assert.deepEqual(declaredSize('png', pngHeader(100_000, 100_000)), { width: 100_000, height: 100_000 });
  });

  it('reads the GIF logical screen', () => {
    assert.deepEqual(declaredSize('gif', gifHeader(320, 200)), { width: 320, height: 200 });
    assert.deepEqual(declaredSize('gif', gifHeader(65_535, 65_535)), { width: 65_535, height: 65_535 });
  });

  it('reads WebP VP8, VP8L and VP8X', () => {
    assert.deepEqual(declaredSize('webp', webpVp8(400, 300)), { width: 400, height: 300 });
    assert.deepEqual(declaredSize('webp', webpVp8(16_383, 16_383)), { width: 16_383, height: 16_383 });
    // The top two bits of a VP8 dimension are the scale, not part of the size.
    assert.deepEqual(declaredSize('webp', webpVp8(400 | 0xc000, 300 | 0x4000)), { width: 400, height: 300 });
    assert.deepEqual(declaredSize('webp', webpVp8l(1, 1)), { width: 1, height: 1 });
    assert.deepEqual(declaredSize('webp', webpVp8l(640, 480)), { width: 640, height: 480 });
    assert.deepEqual(declaredSize('webp', webpVp8l(16_384, 16_384)), { width: 16_384, height: 16_384 });
    assert.deepEqual(declaredSize('webp', webpVp8x(1, 1)), { width: 1, height: 1 });
    assert.deepEqual(declaredSize('webp', webpVp8x(5000, 3000)), { width: 5000, height: 3000 });
    assert.deepEqual(declaredSize('webp', webpVp8x(1 << 24, 1 << 24)), { width: 1 << 24, height: 1 << 24 });
  });

  it('agrees with what sharp wrote, for PNG, GIF and the three WebP flavours', async () => {
    const photo = sharp(fixture('jpg/Canon_40D.jpg')).resize(123, 77, { fit: 'fill' });
    const cases: [ImageFormat, string, Buffer][] = [
      ['png', 'PNG', await photo.clone().png().toBuffer()],
      ['gif', 'GIF', await photo.clone().gif().toBuffer()],
      ['webp', 'VP8 ', await photo.clone().webp().toBuffer()],
      ['webp', 'VP8L', await photo.clone().webp({ lossless: true }).toBuffer()],
      ['webp', 'VP8X', await photo.clone().ensureAlpha(0.5).webp().toBuffer()],
    ];
    for (const [format, flavour, bytes] of cases) {
      if (format === 'webp') assert.equal(bytes.toString('latin1', 12, 16), flavour, 'sharp wrote the flavour this case is about');
      assert.deepEqual(declaredSize(format, bytes.subarray(0, SNIFF_BYTES)), { width: 123, height: 77 }, flavour);
    }
  });

  it('answers undefined when the head is too short or is not the header it claims', () => {
    assert.equal(declaredSize('png', pngHeader(10, 10).subarray(0, 20)), undefined);
    assert.equal(declaredSize('png', Buffer.from(pngHeader(10, 10)).fill(0x41, 12, 16)), undefined, 'no IHDR where it belongs');
    assert.equal(declaredSize('gif', Buffer.from('GIF89a\x01')), undefined);
    assert.equal(declaredSize('webp', webpVp8x(10, 10).subarray(0, 29)), undefined);
    const noStartCode = webpVp8(10, 10);
    noStartCode[23] = 0;
    assert.equal(declaredSize('webp', noStartCode), undefined, 'a VP8 chunk without its start code');
    const noSignature = webpVp8l(10, 10);
    noSignature[20] = 0;
    assert.equal(declaredSize('webp', noSignature), undefined, 'a VP8L chunk without its signature');
    assert.equal(declaredSize('webp', riff(cat('ALPH', u32le(30), Buffer.alloc(30)))), undefined, 'an unknown first chunk');
  });

  it('leaves formats whose size is not in the first bytes to the full probe', async () => {
    assert.equal(declaredSize('jpeg', await head(fixture('jpg/Canon_40D.jpg'))), undefined);
    assert.equal(declaredSize('tiff', await head(fixture('tiff/Arbitro.tiff'))), undefined);
    assert.equal(declaredSize('avif', cat(u32be(32), 'ftyp', 'avif', Buffer.alloc(52))), undefined);
  });
});

