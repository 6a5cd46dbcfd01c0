// The JPEG walk: segments from SOI to EOI, entropy-coded data scanned for its end marker.
import { type Walk, type Extras, malformed, read, here, latin1 } from './walk.js';

/** APPn segments a JPEG keeps, by the identifier that starts them: JFIF, EXIF, XMP, ICC profile, IPTC, Adobe. */
const JPEG_APPS = new Map<number, readonly string[]>([
  [0xe0, ['JFIF\0', 'JFXX\0']],
  [0xe1, ['Exif\0', 'http://ns.adobe.com/xap/1.0/\0', 'http://ns.adobe.com/xmp/extension/\0']],
  [0xe2, ['ICC_PROFILE\0']],
  [0xed, ['Photoshop 3.0\0']],
  [0xee, ['Adobe']],
]);
const JPEG_APP_ID = 36;

const jpegAppKept = (marker: number, head: Buffer): boolean =>
  (JPEG_APPS.get(marker) ?? []).some((id) => latin1(head).startsWith(id));

export function* walkJpeg(): Walk {
  const soi = yield* read(2);
  if (soi[0] !== 0xff || soi[1] !== 0xd8) malformed('no SOI');
  let width = 0;
  let height = 0;
  let progressive = false;
  let scanned = false;
  let pending: number | undefined;
  const extras: Extras = [];
  for (;;) {
    let marker = pending;
    pending = undefined;
    // A marker that ended a scan has been read (its 0xFF and code); the others start here.
    const start = marker === undefined ? yield* here() : (yield* here()) - 2;
    if (marker === undefined) {
      if ((yield* read(1))[0] !== 0xff) malformed('no marker where one must be');
      do marker = (yield* read(1))[0]!;
      while (marker === 0xff);
    }
    if (marker === 0xd9) {
      if (!scanned || width === 0) malformed('EOI before any image data');
      return { width, height, frames: 1, hasAlpha: false, progressive, extras };
    }
    if ((marker >= 0xd0 && marker <= 0xd7) || marker === 0x01) continue;
    if (marker === 0xd8 || marker === 0x00) malformed('unexpected marker');
    const length = (yield* read(2)).readUInt16BE(0);
    if (length < 2) malformed('segment length');
    const isSof = marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc;
    if (isSof || marker === 0xda) {
      const body = yield* read(length - 2);
      if (isSof) {
        if (body.length < 6) malformed('short SOF');
        height = body.readUInt16BE(1);
        width = body.readUInt16BE(3);
        if (width === 0 || height === 0) malformed('zero size');
        progressive ||= (marker & 0x03) === 0x02;
      } else {
        if (width === 0) malformed('SOS before SOF');
        scanned = true;
        pending = (yield { scan: true }) as number;
      }
    } else if (marker >= 0xe0 && marker <= 0xef) {
      const id = Math.min(length - 2, JPEG_APP_ID);
      const head = yield* read(id);
      yield { skip: length - 2 - id };
      if (!jpegAppKept(marker, head)) extras.push([start, yield* here()]);
    } else {
      yield { skip: length - 2 };
      if (marker === 0xfe) extras.push([start, yield* here()]);
    }
  }
}
