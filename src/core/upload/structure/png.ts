// The PNG walk: the signature, then chunks (length, type, CRC checked) to IEND.
import { crc32 } from 'node:zlib';
import { Kept, type Walk, type Extras, malformed, read, here, latin1 } from './walk.js';

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

const PNG_PIXELS = new Set(['IDAT', 'fdAT']);
/** Chunks of the PNG, APNG and PNG-3 specifications a PNG keeps; text chunks only when they hold XMP. */
const PNG_KEPT = new Set([
  'IHDR', 'PLTE', 'IDAT', 'IEND', 'tRNS', 'cHRM', 'gAMA', 'iCCP', 'sBIT', 'sRGB', 'cICP', 'mDCV', 'cLLI',
  'bKGD', 'hIST', 'pHYs', 'sPLT', 'eXIf', 'tIME', 'acTL', 'fcTL', 'fdAT',
]);
const PNG_XMP = 'XML:com.adobe.xmp\0';

export function* walkPng(): Walk {
  const signature = yield* read(8);
  if (!signature.equals(PNG_SIGNATURE)) malformed('signature');
  const view = new Kept();
  view.add(signature);
  let width = 0;
  let height = 0;
  let hasAlpha = false;
  let data = false;
  const extras: Extras = [];
  for (let first = true; ; first = false) {
    const start = yield* here();
    const header = yield* read(8);
    const length = header.readUInt32BE(0);
    const type = header.toString('latin1', 4, 8);
    if (length > 0x7fffffff || !/^[A-Za-z]{4}$/.test(type)) malformed('chunk header');
    if (first !== (type === 'IHDR')) malformed('IHDR not first');
    let crc = crc32(header.subarray(4, 8));
    let kept = PNG_KEPT.has(type);
    if (type === 'IHDR') {
      const body = yield* read(length);
      if (length !== 13) malformed('IHDR length');
      width = body.readUInt32BE(0);
      height = body.readUInt32BE(4);
      const colorType = body[9]!;
      hasAlpha = colorType === 4 || colorType === 6;
      crc = crc32(body, crc);
      view.add(header, body);
    } else if (!PNG_PIXELS.has(type) && view.fits(length + 12)) {
      if (type === 'tRNS') hasAlpha = true;
      const body = yield* read(length);
      crc = crc32(body, crc);
      view.add(header, body);
      if (type === 'iTXt' && latin1(body).startsWith(PNG_XMP)) kept = true;
    } else {
      if (type === 'tRNS') hasAlpha = true;
      if (type === 'IDAT') data = true;
      crc = (yield { skip: length, crc }) as number;
    }
    const trailer = yield* read(4);
    if (trailer.readUInt32BE(0) !== crc) malformed(`${type} checksum`);
    if (!PNG_PIXELS.has(type)) view.add(trailer);
    if (!kept) extras.push([start, yield* here()]);
    if (type === 'IEND') {
      if (!data || width === 0 || height === 0) malformed('no image data');
      return { width, height, frames: 1, hasAlpha, progressive: false, metadata: view.view(), extras };
    }
  }
}
