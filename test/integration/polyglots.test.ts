// Polyglots: an image that is also HTML, a script or an archive is stored as the image alone. Comments, unknown
// segments and chunks, and bytes after the end marker are cut out losslessly; the pixels stay the same.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { crc32 } from 'node:zlib';
import sharp from 'sharp';
import { startApp, type TestApp } from '../helpers/app.js';
import type { Image } from '../helpers/images.js';

const HTML = '<html><script>alert(document.cookie)</script></html>';
const PHP = '<?php system($_GET["c"]); ?>';
const SVG = '<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>';

const noisy = (width: number, height: number): ReturnType<typeof sharp> => {
  const raw = Buffer.alloc(width * height * 3);
  for (let i = 0; i < raw.length; i += 1) raw[i] = (i * 7919 + (i >> 5) * 104729) & 0xff;
  return sharp(raw, { raw: { width, height, channels: 3 } });
};

function jpegSegment(marker: number, body: Buffer): Buffer {
  const head = Buffer.from([0xff, marker, 0, 0]);
  head.writeUInt16BE(body.length + 2, 2);
  return Buffer.concat([head, body]);
}

/** A JPEG with HTML in a comment, in an unknown APP segment, and after its end marker. */
async function jpegPolyglot(width = 64, height = 48): Promise<{ clean: Buffer; hostile: Buffer }> {
  const clean = await noisy(width, height).jpeg({ quality: 95 }).toBuffer();
  const hostile = Buffer.concat([
    clean.subarray(0, 2),
    jpegSegment(0xfe, Buffer.from(HTML)),
    jpegSegment(0xef, Buffer.from(`payload\0${HTML}`)),
    clean.subarray(2),
    Buffer.from(HTML),
  ]);
  return { clean, hostile };
}

function pngChunk(type: string, body: Buffer): Buffer {
  const out = Buffer.alloc(body.length + 12);
  out.writeUInt32BE(body.length, 0);
  out.write(type, 4, 'latin1');
  body.copy(out, 8);
  out.writeUInt32BE(crc32(out.subarray(4, 8 + body.length)), 8 + body.length);
  return out;
}

/** A PNG with a script in a text chunk and an unknown chunk, and HTML after IEND. */
async function pngPolyglot(): Promise<{ clean: Buffer; hostile: Buffer }> {
  const clean = await noisy(40, 30).png().toBuffer();
  const afterIhdr = 8 + 25;
  const hostile = Buffer.concat([
    clean.subarray(0, afterIhdr),
    pngChunk('tEXt', Buffer.from(`Comment\0${HTML}`)),
    pngChunk('evIL', Buffer.from(HTML)),
    clean.subarray(afterIhdr),
    Buffer.from(HTML),
  ]);
  return { clean, hostile };
}

/** A one-file ZIP archive (stored, not deflated): what a GIF+ZIP polyglot carries. */
function zipOf(name: string, content: Buffer): Buffer {
  const crc = crc32(content);
  const local = Buffer.alloc(30);
  local.writeUInt32LE(0x04034b50, 0);
  local.writeUInt16LE(10, 4);
  local.writeUInt32LE(crc, 14);
  local.writeUInt32LE(content.length, 18);
  local.writeUInt32LE(content.length, 22);
  local.writeUInt16LE(name.length, 26);
  const central = Buffer.alloc(46);
  central.writeUInt32LE(0x02014b50, 0);
  central.writeUInt16LE(10, 4);
  central.writeUInt16LE(10, 6);
  central.writeUInt32LE(crc, 16);
  central.writeUInt32LE(content.length, 20);
  central.writeUInt32LE(content.length, 24);
  central.writeUInt16LE(name.length, 28);
  const localPart = Buffer.concat([local, Buffer.from(name), content]);
  const centralPart = Buffer.concat([central, Buffer.from(name)]);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(1, 8);
  end.writeUInt16LE(1, 10);
  end.writeUInt32LE(centralPart.length, 12);
  end.writeUInt32LE(localPart.length, 16);
  return Buffer.concat([localPart, centralPart, end]);
}

/** A GIF with PHP in a comment extension and an unknown application extension, and a ZIP after its trailer. */
async function gifPolyglot(): Promise<{ clean: Buffer; hostile: Buffer; zip: Buffer }> {
  const clean = await noisy(32, 24).gif().toBuffer();
  const flags = clean[10]!;
  const afterHeader = 13 + (flags & 0x80 ? 3 * 2 ** ((flags & 0x07) + 1) : 0);
  const comment = Buffer.concat([Buffer.from([0x21, 0xfe, PHP.length]), Buffer.from(PHP), Buffer.from([0])]);
  const application = Buffer.concat([Buffer.from([0x21, 0xff, 11]), Buffer.from('EVILAPP1.0 '), Buffer.from([HTML.length]), Buffer.from(HTML), Buffer.from([0])]);
  const zip = zipOf('shell.php', Buffer.from(PHP));
  const hostile = Buffer.concat([clean.subarray(0, afterHeader), comment, application, clean.subarray(afterHeader), zip]);
  return { clean, hostile, zip };
}

/** A WebP with an SVG in a chunk of its own inside the RIFF, and HTML after the RIFF's end. */
async function webpPolyglot(): Promise<{ clean: Buffer; hostile: Buffer }> {
  const clean = await noisy(48, 32).webp({ quality: 90 }).toBuffer();
  const svg = Buffer.from(SVG.length % 2 ? `${SVG} ` : SVG);
  const chunk = Buffer.concat([Buffer.from('SVG '), Buffer.alloc(4), svg]);
  chunk.writeUInt32LE(svg.length, 4);
  const riff = Buffer.concat([clean, chunk]);
  riff.writeUInt32LE(riff.length - 8, 4);
  return { clean, hostile: Buffer.concat([riff, Buffer.from(HTML)]) };
}

const pixels = async (bytes: Buffer): Promise<Buffer> => sharp(bytes).raw().toBuffer();

describe('polyglots', () => {
  let t: TestApp;
  before(async () => {
    t = await startApp({ PROCESSING: 'false' });
  });
  after(() => t.close());

  async function stored(name: string, bytes: Buffer): Promise<{ image: Image; served: Buffer }> {
    const res = await t.upload([[name, bytes]]);
    assert.equal(res.status, 201, await res.clone().text());
    const image = (await res.json()) as Image;
    const served = await fetch(image.url);
    assert.equal(served.status, 200);
    const body = Buffer.from(await served.arrayBuffer());
    assert.equal(body.length, image.bytes, 'the size reported is that of the stored bytes');
    assert.equal(createHash('sha256').update(body).digest('hex'), image.sha256, 'the hash reported is that of the stored bytes');
    return { image, served: body };
  }

  async function assertOnlyTheImage(name: string, sample: { clean: Buffer; hostile: Buffer }, payloads: readonly string[]): Promise<Buffer> {
    const { served } = await stored(name, sample.hostile);
    for (const payload of payloads) assert.equal(served.includes(payload), false, `${name}: "${payload.slice(0, 20)}" is still served`);
    assert.ok(served.length < sample.hostile.length);
    assert.deepEqual(await pixels(served), await pixels(sample.hostile), `${name}: the pixels changed`);
    return served;
  }

  it('cuts HTML out of a JPEG comment, an unknown APP segment and the bytes after EOI', async () => {
    const sample = await jpegPolyglot();
    const served = await assertOnlyTheImage('polyglot.jpg', sample, [HTML, 'payload']);
    assert.deepEqual(served, sample.clean, 'what is left is exactly the JPEG sharp wrote');
  });

  it('cuts a script out of a PNG text chunk, an unknown chunk and the bytes after IEND', async () => {
    const sample = await pngPolyglot();
    const served = await assertOnlyTheImage('polyglot.png', sample, [HTML, 'evIL']);
    assert.deepEqual(served, sample.clean);
  });

  it('cuts PHP out of a GIF comment, an unknown application extension, and the ZIP after the trailer', async () => {
    const sample = await gifPolyglot();
    const served = await assertOnlyTheImage('polyglot.gif', sample, [PHP, HTML, 'EVILAPP', 'PK\u0003\u0004']);
    assert.deepEqual(served, sample.clean);
  });

  it('cuts an SVG chunk out of a WebP and fixes the RIFF size', async () => {
    const sample = await webpPolyglot();
    const served = await assertOnlyTheImage('polyglot.webp', sample, [SVG, HTML]);
    assert.deepEqual(served, sample.clean);
    assert.equal(served.readUInt32LE(4), served.length - 8);
  });

  it('strips a large upload that streamed to a staged file the same way', async () => {
    const sample = await jpegPolyglot(800, 800);
    assert.ok(sample.hostile.length > 512 * 1024, `the sample must be staged on disk (${sample.hostile.length} bytes)`);
    const served = await assertOnlyTheImage('large-polyglot.jpg', sample, [HTML, 'payload']);
    assert.deepEqual(served, sample.clean);
    const { temp } = await t.stored();
    assert.equal(temp, 0, 'no staged file is left');
  });

  it('stores an image that is only the image byte for byte, and dedupes polyglots of it', async () => {
    const sample = await jpegPolyglot(50, 40);
    const first = await stored('plain.jpg', sample.clean);
    assert.deepEqual(first.served, sample.clean);
    const second = await stored('hostile.jpg', sample.hostile);
    assert.equal(second.image.sha256, first.image.sha256, 'the same image with a payload is the same stored bytes');
  });
});

describe('polyglots with STRIP_EXTRAS=false', () => {
  let t: TestApp;
  before(async () => {
    t = await startApp({ PROCESSING: 'false', STRIP_EXTRAS: 'false' });
  });
  after(() => t.close());

  it('stores the upload as it came', async () => {
    const sample = await gifPolyglot();
    const res = await t.upload([['kept.gif', sample.hostile]]);
    assert.equal(res.status, 201);
    const image = (await res.json()) as Image;
    assert.deepEqual(Buffer.from(await (await fetch(image.url)).arrayBuffer()), sample.hostile);
  });
});
