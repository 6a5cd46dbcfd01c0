// A structural walk of JPEG, PNG, GIF and WebP as the bytes stream in: segments, chunks and blocks from the first
// byte to the end marker, without decoding a pixel. What it proves and what it leaves to the decode: README,
// "How uploads are checked and stored".
import { crc32 } from 'node:zlib';
import type { ImageFormat } from '../formats.js';

export interface StructureFacts {
  readonly width: number;
  readonly height: number;
  readonly frames: number;
  readonly hasAlpha: boolean;
  /** A progressive (or hierarchical) JPEG: every coefficient is held in memory while it decodes. */
  readonly progressive: boolean;
  /** Where the image ends: bytes after it (trailing data) are not part of the image. */
  readonly end: number;
  /**
   * Byte ranges `[start, end)` before `end` that are not the image: comments, and segments, chunks or blocks the
   * format does not need and this walk does not know (see strip.ts). In file order, not overlapping.
   */
  readonly extras: ReadonlyArray<readonly [number, number]>;
  /**
   * A PNG or WebP without its pixel data: the other chunks (EXIF, XMP, text) as they are in the file, gathered as
   * the bytes passed, so a large upload's metadata is read without going back to its staged file. Undefined when
   * they would exceed METADATA_BYTES.
   */
  readonly metadata?: Buffer | undefined;
}

/** Most metadata the walk keeps of one upload. */
const METADATA_BYTES = 4 * 1024 * 1024;

/** Chunks kept for the metadata view, within METADATA_BYTES. */
class Kept {
  private parts: Buffer[] = [];
  private bytes = 0;
  private over = false;
  /** Whether a chunk of this size still fits; once one does not, nothing more is kept. */
  fits(size: number): boolean {
    if (this.bytes + size > METADATA_BYTES) this.over = true;
    return !this.over;
  }
  add(...parts: Buffer[]): void {
    for (const part of parts) {
      this.parts.push(part);
      this.bytes += part.length;
    }
  }
  view(): Buffer | undefined {
    return this.over ? undefined : Buffer.concat(this.parts, this.bytes);
  }
}

/** What a walk asks of the bytes next. */
type Want =
  | { readonly read: number }
  | { readonly skip: number; readonly crc?: number }
  /** JPEG entropy-coded data: answered with the marker that ends it. */
  | { readonly scan: true }
  /** Answered at once with the offset of the next byte. */
  | { readonly at: true };

type Walk = Generator<Want, Omit<StructureFacts, 'end'>, Buffer | number>;
type Extras = Array<readonly [number, number]>;

class Malformed extends Error {}
const malformed = (what: string): never => {
  throw new Malformed(what);
};

function* read(n: number): Generator<Want, Buffer, Buffer | number> {
  return (yield { read: n }) as Buffer;
}

function* here(): Generator<Want, number, Buffer | number> {
  return (yield { at: true }) as number;
}

const latin1 = (bytes: Buffer, from = 0): string => bytes.toString('latin1', from);

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

function* walkJpeg(): Walk {
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

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

const PNG_PIXELS = new Set(['IDAT', 'fdAT']);
/** Chunks of the PNG, APNG and PNG-3 specifications a PNG keeps; text chunks only when they hold XMP. */
const PNG_KEPT = new Set([
  'IHDR', 'PLTE', 'IDAT', 'IEND', 'tRNS', 'cHRM', 'gAMA', 'iCCP', 'sBIT', 'sRGB', 'cICP', 'mDCV', 'cLLI',
  'bKGD', 'hIST', 'pHYs', 'sPLT', 'eXIf', 'tIME', 'acTL', 'fcTL', 'fdAT',
]);
const PNG_XMP = 'XML:com.adobe.xmp\0';

function* walkPng(): Walk {
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

function* subBlocks(): Generator<Want, void, Buffer | number> {
  for (;;) {
    const size = (yield* read(1))[0]!;
    if (size === 0) return;
    yield { skip: size };
  }
}

/** GIF application extensions a GIF keeps: looping (Netscape, AnimExts), ICC profile, XMP. */
const GIF_APPS = new Set(['NETSCAPE2.0', 'ANIMEXTS1.0', 'ICCRGBG1012', 'XMP DataXMP']);

function* walkGif(): Walk {
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

const WEBP_PIXELS = new Set(['VP8 ', 'VP8L', 'ALPH', 'ANMF']);
/** Chunks of the WebP container specification. */
const WEBP_KEPT = new Set(['VP8X', 'VP8 ', 'VP8L', 'ALPH', 'ANIM', 'ANMF', 'ICCP', 'EXIF', 'XMP ']);

function* walkWebp(): Walk {
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

/** Feeds chunks to a walk as they arrive; `end()` tells whether the image was complete. */
export class StructureWalker {
  private readonly walk: Walk;
  private want: Want | undefined;
  private held: Buffer[] = [];
  private heldBytes = 0;
  private skipLeft = 0;
  private crc = 0;
  /** A 0xFF ended the last chunk inside entropy-coded data. */
  private scanFf = false;
  private offset = 0;
  private facts: StructureFacts | undefined;
  private failure: string | undefined;

  constructor(walk: Walk) {
    this.walk = walk;
    this.advance(undefined);
  }

  /** Facts once the image's end was seen; the walk failed or is incomplete otherwise. */
  get result(): StructureFacts | undefined {
    return this.facts;
  }

  /** Why the walk stopped, when it found the bytes malformed. */
  get problem(): string | undefined {
    return this.failure;
  }

  write(chunk: Buffer): void {
    let at = 0;
    while (at < chunk.length && this.want && !this.failure) {
      const want = this.want;
      if ('read' in want) {
        const take = Math.min(want.read - this.heldBytes, chunk.length - at);
        this.held.push(chunk.subarray(at, at + take));
        this.heldBytes += take;
        at += take;
        if (this.heldBytes === want.read) {
          const bytes = this.held.length === 1 ? this.held[0]! : Buffer.concat(this.held);
          this.held = [];
          this.heldBytes = 0;
          this.offset += want.read;
          this.advance(bytes);
        }
      } else if ('skip' in want) {
        const take = Math.min(this.skipLeft, chunk.length - at);
        if (want.crc !== undefined) this.crc = crc32(chunk.subarray(at, at + take), this.crc);
        this.skipLeft -= take;
        at += take;
        this.offset += take;
        if (this.skipLeft === 0) this.advance(this.crc);
      } else {
        at = this.scan(chunk, at);
      }
    }
  }

  /** Entropy-coded data ends at a marker: 0xFF followed by anything but a stuffed 0x00, a fill 0xFF or a restart. */
  private scan(chunk: Buffer, from: number): number {
    let i = from;
    if (this.scanFf) {
      this.scanFf = false;
      const next = chunk[i]!;
      i += 1;
      if (next === 0xff) {
        this.scanFf = true;
        this.offset += i - from;
        return i;
      }
      if (next !== 0x00 && !(next >= 0xd0 && next <= 0xd7)) {
        this.offset += i - from;
        this.advance(next);
        return i;
      }
    }
    for (;;) {
      const ff = chunk.indexOf(0xff, i);
      if (ff === -1 || ff === chunk.length - 1) {
        if (ff !== -1) this.scanFf = true;
        this.offset += chunk.length - from;
        return chunk.length;
      }
      const next = chunk[ff + 1]!;
      if (next === 0x00 || (next >= 0xd0 && next <= 0xd7)) {
        i = ff + 2;
        continue;
      }
      if (next === 0xff) {
        i = ff + 1;
        continue;
      }
      this.offset += ff + 2 - from;
      this.advance(next);
      return ff + 2;
    }
  }

  private advance(value: Buffer | number | undefined): void {
    try {
      const step = this.walk.next(value as Buffer | number);
      if (step.done) {
        this.want = undefined;
        this.facts = { ...step.value, end: this.offset };
        return;
      }
      this.want = step.value;
      if ('at' in step.value) this.advance(this.offset);
      else if ('read' in step.value && step.value.read === 0) this.advance(Buffer.alloc(0));
      else if ('skip' in step.value) {
        this.skipLeft = step.value.skip;
        this.crc = step.value.crc ?? 0;
        if (this.skipLeft === 0) this.advance(this.crc);
      }
    } catch (err) {
      if (!(err instanceof Malformed)) throw err;
      this.want = undefined;
      this.failure = err.message;
    }
  }
}

/** A walker for the formats that have one; the others are checked by a decode. */
export function structureWalker(format: ImageFormat): StructureWalker | undefined {
  switch (format) {
    case 'jpeg':
      return new StructureWalker(walkJpeg());
    case 'png':
      return new StructureWalker(walkPng());
    case 'gif':
      return new StructureWalker(walkGif());
    case 'webp':
      return new StructureWalker(walkWebp());
    default:
      return undefined;
  }
}
