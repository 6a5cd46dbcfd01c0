// The WebP walk: the RIFF header, then the chunks of the WebP container to the RIFF length.
import { Kept, type Walk, type Extras, malformed, read, here } from './walk.js';

const WEBP_PIXELS = new Set(['VP8 ', 'VP8L', 'ALPH', 'ANMF']);
/** Chunks of the WebP container specification. */
const WEBP_KEPT = new Set(['VP8X', 'VP8 ', 'VP8L', 'ALPH', 'ANIM', 'ANMF', 'ICCP', 'EXIF', 'XMP ']);

export function* walkWebp(): Walk {
  const riff = yield* read(12);
  const kept = new Kept();
  kept.add(riff);
  if (riff.toString('latin1', 0, 4) !== 'RIFF' || riff.toString('latin1', 8, 12) !== 'WEBP') malformed('RIFF header');
  const total = riff.readUInt32LE(4);
  if (total < 4 || total % 2 === 1) malformed('RIFF size');
  let left = total - 4;
  let width = 0;
  let height = 0;
  let hasAlpha = false;
  let animated = false;
  let frames = 0;
  let image = false;
  const extras: Extras = [];
  while (left > 0) {
    const start = yield* here();
    const header = yield* read(8);
    const fourcc = header.toString('latin1', 0, 4);
    const length = header.readUInt32LE(4);
    const padded = length + (length % 2);
    if (padded + 8 > left) malformed('chunk past the RIFF end');
    left -= padded + 8;
    if (fourcc === 'VP8X') {
      const body = yield* read(padded);
      kept.add(header, body);
      if (length < 10) malformed('VP8X length');
      hasAlpha = (body[0]! & 0x10) !== 0;
      animated = (body[0]! & 0x02) !== 0;
      width = 1 + body.readUIntLE(4, 3);
      height = 1 + body.readUIntLE(7, 3);
      continue;
    }
    if (fourcc === 'VP8L' && width === 0) {
      const body = yield* read(padded);
      if (length < 5 || body[0] !== 0x2f) malformed('VP8L header');
      const bits = body.readUInt32LE(1);
      width = 1 + (bits & 0x3fff);
      height = 1 + ((bits >> 14) & 0x3fff);
      hasAlpha = ((bits >>> 28) & 1) === 1;
      image = true;
      continue;
    }
    if (fourcc === 'VP8 ' && width === 0) {
      const body = yield* read(padded);
      if (length < 10 || body[3] !== 0x9d || body[4] !== 0x01 || body[5] !== 0x2a) malformed('VP8 header');
      width = body.readUInt16LE(6) & 0x3fff;
      height = body.readUInt16LE(8) & 0x3fff;
      image = true;
      continue;
    }
    if (fourcc === 'ANMF') frames += 1;
    if (fourcc === 'VP8 ' || fourcc === 'VP8L' || fourcc === 'ANMF') image = true;
    if (!WEBP_PIXELS.has(fourcc) && kept.fits(padded + 8)) kept.add(header, yield* read(padded));
    else yield { skip: padded };
    if (!WEBP_KEPT.has(fourcc)) extras.push([start, yield* here()]);
  }
  if (!image || width === 0 || height === 0) malformed('no image data');
  return { width, height, frames: animated ? Math.max(1, frames) : 1, hasAlpha, progressive: false, metadata: kept.view(), extras };
}
