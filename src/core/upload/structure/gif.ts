// The GIF walk: header, colour tables, then extensions and image blocks to the trailer.
import { type Want, type Walk, type Extras, malformed, read, here, latin1 } from './walk.js';

function* subBlocks(): Generator<Want, void, Buffer | number> {
  for (;;) {
    const size = (yield* read(1))[0]!;
    if (size === 0) return;
    yield { skip: size };
  }
}

/** GIF application extensions a GIF keeps: looping (Netscape, AnimExts), ICC profile, XMP. */
const GIF_APPS = new Set(['NETSCAPE2.0', 'ANIMEXTS1.0', 'ICCRGBG1012', 'XMP DataXMP']);

export function* walkGif(): Walk {
  const header = yield* read(13);
  const signature = header.toString('latin1', 0, 6);
  if (signature !== 'GIF87a' && signature !== 'GIF89a') malformed('signature');
  const width = header.readUInt16LE(6);
  const height = header.readUInt16LE(8);
  const flags = header[10]!;
  if (flags & 0x80) yield { skip: 3 * 2 ** ((flags & 0x07) + 1) };
  let frames = 0;
  const extras: Extras = [];
  for (;;) {
    const start = yield* here();
    const introducer = (yield* read(1))[0];
    if (introducer === 0x3b) {
      if (frames === 0 || width === 0 || height === 0) malformed('no image');
      // libvips reads every GIF as RGBA.
      return { width, height, frames, hasAlpha: true, progressive: false, extras };
    }
    if (introducer === 0x21) {
      const label = (yield* read(1))[0];
      let kept = label === 0xf9 || label === 0x01;
      if (label === 0xff) {
        const size = (yield* read(1))[0]!;
        const id = yield* read(size);
        kept = size === 11 && GIF_APPS.has(latin1(id));
      }
      yield* subBlocks();
      if (!kept) extras.push([start, yield* here()]);
    } else if (introducer === 0x2c) {
      frames += 1;
      const descriptor = yield* read(9);
      if (descriptor[8]! & 0x80) yield { skip: 3 * 2 ** ((descriptor[8]! & 0x07) + 1) };
      yield* read(1);
      yield* subBlocks();
    } else {
      malformed('block introducer');
    }
  }
}
