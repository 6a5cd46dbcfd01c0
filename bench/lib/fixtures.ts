// Inputs made at bench time: distinct copies of the fixture photo, synthetic 3 MP / 12 MP JPEGs, a 50 MB PNG, multipart bodies.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/** The 161 KB JPEG of PERF.md (a real camera photo with EXIF and GPS). */
export const PHOTO_PATH = path.join(ROOT, 'test/fixtures/exif-samples/jpg/gps/DSCN0010.jpg');
export const REPO_ROOT = ROOT;

export function photo(): Buffer {
  return readFileSync(PHOTO_PATH);
}

/**
 * The same JPEG with an XMP segment naming n right after SOI: other bytes (so another blob and another cache entry),
 * the same pixels and the same decoding cost. Not a comment: imgd cuts comments out of stored originals
 * (STRIP_EXTRAS), which made every copy the same blob and every variant after the first a cache hit.
 */
export function distinctJpeg(base: Buffer, n: number): Buffer {
  if (base[0] !== 0xff || base[1] !== 0xd8) throw new Error('not a JPEG');
  const xmp =
    'http://ns.adobe.com/xap/1.0/\0<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">' +
    `<rdf:Description xmlns:bench="https://imgd.invalid/bench/" bench:n="${n}"/></rdf:RDF></x:xmpmeta>`;
  const text = Buffer.from(xmp, 'latin1');
  const segment = Buffer.alloc(4 + text.length);
  segment.writeUInt16BE(0xffe1, 0);
  segment.writeUInt16BE(text.length + 2, 2);
  text.copy(segment, 4);
  return Buffer.concat([base.subarray(0, 2), segment, base.subarray(2)]);
}

/** Deterministic pseudo-random bytes (xorshift32), so every run measures the same inputs. */
function fillNoise(buf: Buffer, seed: number): void {
  let x = seed >>> 0 || 1;
  for (let i = 0; i < buf.length; i += 1) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    buf[i] = x & 0xff;
  }
}

/**
 * A photo-like JPEG: smooth colour gradients with soft shapes and mild grain, so it compresses like a
 * camera picture (about 1-2 bits per pixel at quality 90) rather than like flat colour or pure noise.
 */
export async function syntheticJpeg(width: number, height: number, seed: number): Promise<Buffer> {
  const channels = 3;
  const pixels = Buffer.alloc(width * height * channels);
  const grain = Buffer.alloc(width * height);
  fillNoise(grain, seed);
  const cx = (seed * 7919) % width;
  const cy = (seed * 104729) % height;
  const r2 = (Math.min(width, height) / 3) ** 2;
  for (let y = 0; y < height; y += 1) {
    for (let x = 0; x < width; x += 1) {
      const i = y * width + x;
      const g = (grain[i]! - 128) >> 3;
      const inside = (x - cx) ** 2 + (y - cy) ** 2 < r2 ? 60 : 0;
      const stripe = ((x >> 6) + (y >> 6)) & 1 ? 20 : 0;
      pixels[i * 3] = Math.max(0, Math.min(255, ((x * 255) / width) + g + inside - stripe));
      pixels[i * 3 + 1] = Math.max(0, Math.min(255, ((y * 255) / height) + g + stripe));
      pixels[i * 3 + 2] = Math.max(0, Math.min(255, 128 + g - inside + (((x ^ y) >> 4) & 31)));
    }
  }
  return sharp(pixels, { raw: { width, height, channels } }).jpeg({ quality: 90 }).toBuffer();
}

/** An incompressible PNG (stored deflate of noise) of about width x height x 3 bytes. */
export async function noisePng(width: number, height: number, seed: number): Promise<Buffer> {
  const pixels = Buffer.alloc(width * height * 3);
  fillNoise(pixels, seed);
  return sharp(pixels, { raw: { width, height, channels: 3 } }).png({ compressionLevel: 0, adaptiveFiltering: false }).toBuffer();
}

export const BOUNDARY = '----imgdbench7d3f9a';

/** A multipart/form-data body with one `file` part. */
export function multipartBody(file: Buffer, filename: string, contentType: string, boundary = BOUNDARY): Buffer {
  const head = Buffer.from(
    `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${filename}"\r\nContent-Type: ${contentType}\r\n\r\n`,
  );
  return Buffer.concat([head, file, Buffer.from(`\r\n--${boundary}--\r\n`)]);
}
