// The structural walk of JPEG, PNG, GIF and WebP: the facts sharp reads, refusal of anything cut short or broken.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { crc32 } from 'node:zlib';
import sharp from 'sharp';
import { detectFormat } from '../../src/core/formats.js';
import { stripBuffer, stripFile, stripPlan } from '../../src/core/upload/strip.js';
import { structureWalker } from '../../src/core/upload/structure.js';
import type { StructureFacts } from '../../src/core/upload/structure/walk.js';
import { FIXTURES } from '../helpers/app.js';

/** Walks bytes fed in odd-sized pieces, as a network would deliver them. */
function walk(bytes: Buffer, piece = 7919, format = detectFormat(bytes)): StructureFacts | undefined {
  assert.ok(format);
  const walker = structureWalker(format);
  assert.ok(walker, format);
  for (let at = 0; at < bytes.length; at += piece) walker.write(bytes.subarray(at, at + piece));
  return walker.result;
}

async function samples(): Promise<Array<[string, Buffer]>> {
  const red = { r: 255, g: 0, b: 0, alpha: 0.5 };
  const rgba = () => sharp({ create: { width: 300, height: 200, channels: 4, background: red } });
  const rgb = () => sharp({ create: { width: 301, height: 199, channels: 3, background: { r: 0, g: 90, b: 0 } } });
  const strip = await sharp({ create: { width: 40, height: 120, channels: 3, background: '#f00' } }).raw().toBuffer();
  const frames = () => sharp(strip, { raw: { width: 40, height: 120, channels: 3, pageHeight: 40 } as never });
  const jpegs = (await readdir(path.join(FIXTURES, 'jpg'))).filter((n) => n.endsWith('.jpg') && n !== 'corrupted.jpg');
  return [
    ['rgba.png', await rgba().png().toBuffer()],
    ['palette.png', await rgba().png({ palette: true }).toBuffer()],
    ['rgb.png', await rgb().png().toBuffer()],
    ['rgba.webp', await rgba().webp().toBuffer()],
    ['lossless.webp', await rgba().webp({ lossless: true }).toBuffer()],
    ['rgb.webp', await rgb().webp().toBuffer()],
    ['still.gif', await rgb().gif().toBuffer()],
    ['animated.gif', await frames().gif({ loop: 0 }).toBuffer()],
    ['animated.webp', await frames().webp({ loop: 0 }).toBuffer()],
    ['progressive.jpg', await rgb().jpeg({ progressive: true }).toBuffer()],
    ...(await Promise.all(jpegs.map(async (n): Promise<[string, Buffer]> => [n, await readFile(path.join(FIXTURES, 'jpg', n))]))),
  ];
}

describe('the structural walk', () => {
  it('reads the size, frames, alpha and progressiveness sharp reads, whatever the pieces the bytes come in', async () => {
    for (const [name, bytes] of await samples()) {
      const meta = await sharp(bytes).metadata();
      const facts = walk(bytes);
      assert.ok(facts, name);
      assert.deepEqual(
        { width: facts.width, height: facts.height, frames: facts.frames, hasAlpha: facts.hasAlpha, progressive: facts.progressive },
        { width: meta.width, height: meta.pageHeight ?? meta.height, frames: meta.pages ?? 1, hasAlpha: meta.hasAlpha, progressive: Boolean(meta.isProgressive) },
        name,
      );
      assert.equal(facts.end, bytes.length, `${name}: the image ends where the file does`);
      if (bytes.length < 50_000) assert.deepEqual(walk(bytes, 1), facts, `${name}: byte by byte`);
    }
  });

  it('finds no complete image in any of them cut short, or with its body replaced by noise', async () => {
    for (const [name, bytes] of await samples()) {
      const format = detectFormat(bytes);
      for (const cut of [1, 3, 20, Math.floor(bytes.length / 2), bytes.length - 1]) {
        assert.equal(walk(bytes.subarray(0, cut), 7919, format), undefined, `${name} cut at ${cut}`);
      }
      const noise = Buffer.from(Array.from({ length: 5000 }, (_, i) => (i * 7919 + 13) & 0xff));
      assert.equal(walk(Buffer.concat([bytes.subarray(0, 16), noise]), 7919, format), undefined, `${name} then noise`);
    }
  });

  it('refuses a PNG chunk whose checksum does not match', async () => {
    const png = await sharp({ create: { width: 8, height: 8, channels: 3, background: '#123' } }).png().toBuffer();
    const broken = Buffer.from(png);
    broken.writeUInt8(broken.readUInt8(41) ^ 0xff, 41); // the first byte of the chunk after IHDR
    assert.ok(walk(png));
    assert.equal(walk(broken), undefined);
  });

  it('keeps the metadata chunks of a PNG, also those after its pixels, and none of its pixel data', async () => {
    const png = await sharp({ create: { width: 64, height: 64, channels: 3, background: '#456' } }).png({ compressionLevel: 0 }).toBuffer();
    const iend = png.length - 12;
    const text = Buffer.from('Comment\0after the pixels', 'latin1');
    const chunk = Buffer.alloc(12 + text.length);
    chunk.writeUInt32BE(text.length, 0);
    chunk.write('tEXt', 4, 'latin1');
    text.copy(chunk, 8);
    chunk.writeUInt32BE(crc32(chunk.subarray(4, 8 + text.length)), 8 + text.length);
    const facts = walk(Buffer.concat([png.subarray(0, iend), chunk, png.subarray(iend)]));
    assert.ok(facts?.metadata);
    assert.ok(facts.metadata.includes(text), 'the text chunk is kept');
    assert.equal(facts.metadata.indexOf('IDAT', 0, 'latin1'), -1, 'no pixel chunk');
    assert.ok(facts.metadata.length < 200);
  });

  it('cuts only what is not the image: the same pixels, whatever the pieces, in memory and in place in a staged file', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'imgd-strip-'));
    try {
      for (const [name, bytes] of await samples()) {
        const hostile = Buffer.concat([bytes, Buffer.from('<html>trailing</html>')]);
        const format = detectFormat(bytes)!;
        const facts = walk(hostile, 4093, format);
        assert.ok(facts, name);
        const plan = stripPlan(format, facts, hostile.length);
        assert.ok(plan, name);
        const kept = stripBuffer(hostile, plan);
        assert.equal(kept.includes('<html>'), false, name);
        assert.deepEqual(await sharp(kept).raw().toBuffer(), await sharp(bytes).raw().toBuffer(), name);
        // What sharp writes is only the image; the camera fixtures carry comments and vendor segments.
        if (!name.startsWith('Nikon')) assert.deepEqual(kept, bytes, name);
        const file = path.join(dir, name);
        await writeFile(file, hostile);
        const inPlace = await stripFile(file, plan);
        assert.deepEqual(await readFile(file), kept, name);
        assert.equal(inPlace.bytes, kept.length);
        assert.equal(inPlace.sha256, createHash('sha256').update(kept).digest('hex'));
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
