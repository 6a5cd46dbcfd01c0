// BMP (Windows bitmap): the libvips inside sharp has no BMP loader, so BMPs are decoded here to raw pixels for sharp.
// Written here rather than taken from npm: bmp-ts ignores the pixel-data offset (a BMP with a gap before its pixels,
// as GIMP writes with a colour profile, comes out shifted) and fast-bmp reads only V5 headers.
import { ImgdError } from '../../errors.js';

export interface BmpHeader {
  readonly width: number;
  readonly height: number;
  readonly bitsPerPixel: number;
}

export interface DecodedBmp {
  readonly width: number;
  readonly height: number;
  /** 3 (RGB) or 4 (RGBA, when the file has an alpha channel that is not all zero). */
  readonly channels: 3 | 4;
  readonly data: Buffer;
}

interface Layout extends BmpHeader {
  readonly topDown: boolean;
  readonly compression: number;
  readonly dataOffset: number;
  readonly palette: Buffer;
  /** Bytes per palette entry: 3 in OS/2 core headers, 4 otherwise (B, G, R, reserved). */
  readonly entry: number;
  readonly masks: readonly [number, number, number, number];
}

const FILE_HEADER = 14;
const HEADER_SIZES = new Set([12, 40, 52, 56, 108, 124]);
const RGB = 0;
const RLE8 = 1;
const RLE4 = 2;
const BITFIELDS = 3;
const ALPHA_BITFIELDS = 6;

const corrupt = (why: string): never => {
  throw new ImgdError('corrupt_image', `The BMP cannot be decoded: ${why}.`);
};

/** "BM" and a known info-header size: enough to tell a bitmap from text that starts with "BM". */
export function isBmp(head: Buffer): boolean {
  return head.length >= 18 && head[0] === 0x42 && head[1] === 0x4d && HEADER_SIZES.has(head.readUInt32LE(FILE_HEADER));
}

/** Width and height from the first 26 bytes, so a pixel flood is refused before the rest arrives. */
export function bmpSize(head: Buffer): { width: number; height: number } | undefined {
  if (!isBmp(head) || head.length < 26) return undefined;
  if (head.readUInt32LE(FILE_HEADER) === 12) return { width: head.readUInt16LE(18), height: head.readUInt16LE(20) };
  return { width: Math.abs(head.readInt32LE(18)), height: Math.abs(head.readInt32LE(22)) };
}

function layout(buf: Buffer): Layout {
  if (!isBmp(buf)) corrupt('no bitmap header');
  const headerSize = buf.readUInt32LE(FILE_HEADER);
  if (buf.length < FILE_HEADER + headerSize) corrupt('the header is cut short');
  const dataOffset = buf.readUInt32LE(10);
  const core = headerSize === 12;
  const width = core ? buf.readUInt16LE(18) : buf.readInt32LE(18);
  const rawHeight = core ? buf.readUInt16LE(20) : buf.readInt32LE(22);
  const planes = buf.readUInt16LE(core ? 22 : 26);
  const bitsPerPixel = buf.readUInt16LE(core ? 24 : 28);
  const compression = core ? RGB : buf.readUInt32LE(30);
  if (width <= 0 || rawHeight === 0 || planes !== 1) corrupt('impossible size');
  if (![1, 4, 8, 16, 24, 32].includes(bitsPerPixel)) corrupt(`${bitsPerPixel} bits per pixel`);
  const fits =
    compression === RGB ||
    (compression === RLE8 && bitsPerPixel === 8) ||
    (compression === RLE4 && bitsPerPixel === 4) ||
    ((compression === BITFIELDS || compression === ALPHA_BITFIELDS) && (bitsPerPixel === 16 || bitsPerPixel === 32));
  if (!fits) corrupt(`compression ${compression} with ${bitsPerPixel} bits per pixel`);
  const topDown = rawHeight < 0;
  if (topDown && compression !== RGB && compression !== BITFIELDS && compression !== ALPHA_BITFIELDS) corrupt('a top-down RLE bitmap');

  // Colour masks: in V2+ headers, or right after a 40-byte header when the compression says they are there.
  let masks: [number, number, number, number] =
    bitsPerPixel === 16 ? [0x7c00, 0x03e0, 0x001f, 0] : [0x00ff0000, 0x0000ff00, 0x000000ff, bitsPerPixel === 32 ? 0xff000000 : 0];
  let afterHeader = FILE_HEADER + headerSize;
  if (compression === BITFIELDS || compression === ALPHA_BITFIELDS) {
    const at = FILE_HEADER + 40;
    const count = headerSize >= 56 || compression === ALPHA_BITFIELDS ? 4 : 3;
    if (buf.length < at + count * 4) corrupt('the colour masks are cut short');
    masks = [buf.readUInt32LE(at), buf.readUInt32LE(at + 4), buf.readUInt32LE(at + 8), count === 4 ? buf.readUInt32LE(at + 12) : 0];
    if (headerSize === 40) afterHeader += count * 4;
  }

  const entry = core ? 3 : 4;
  let palette: Buffer = Buffer.alloc(0);
  if (bitsPerPixel <= 8) {
    const used = core ? 0 : buf.readUInt32LE(46);
    const count = Math.min(used === 0 ? 2 ** bitsPerPixel : used, 2 ** bitsPerPixel);
    if (buf.length < afterHeader + count * entry) corrupt('the palette is cut short');
    palette = buf.subarray(afterHeader, afterHeader + count * entry);
  }
  if (dataOffset < afterHeader || dataOffset >= buf.length) corrupt('the pixel data is not where the header says');
  return { width, height: Math.abs(rawHeight), bitsPerPixel, topDown, compression, dataOffset, palette, entry, masks };
}

/** Reads a masked channel and scales it to 0..255. */
function channel(mask: number): (px: number) => number {
  if (mask === 0) return () => 0;
  const low = 31 - Math.clz32(mask & -mask);
  const bits = 32 - Math.clz32(mask >>> low);
  const max = 2 ** bits - 1;
  return bits >= 8 ? (px) => ((px & mask) >>> low) >>> (bits - 8) : (px) => Math.round((((px & mask) >>> low) * 255) / max);
}

/** Palette indices of an RLE bitmap, bottom row first as stored; pixels the encoding skips stay index 0. */
function unRle(buf: Buffer, l: Layout): Uint8Array {
  const { width, height } = l;
  const out = new Uint8Array(width * height);
  let at = l.dataOffset;
  let x = 0;
  let y = 0;
  const byte = (): number => {
    if (at >= buf.length) corrupt('the RLE data is cut short');
    return buf[at++]!;
  };
  const put = (index: number): void => {
    if (x < width && y < height) out[y * width + x] = index;
    x += 1;
  };
  for (;;) {
    const count = byte();
    const value = byte();
    if (count > 0) {
      // A run past the row's end draws nothing: the work stays bounded by the row, whatever the file claims.
      const drawn = Math.min(count, Math.max(0, width - x));
      for (let i = 0; i < drawn; i += 1) put(l.compression === RLE8 ? value : i % 2 === 0 ? value >> 4 : value & 0x0f);
      x += count - drawn;
    } else if (value === 0) {
      x = 0;
      y += 1;
    } else if (value === 1) {
      return out;
    } else if (value === 2) {
      x += byte();
      y += byte();
    } else {
      const bytes = l.compression === RLE8 ? value : Math.ceil(value / 2);
      for (let i = 0; i < value; i += 1) {
        const b = l.compression === RLE8 ? byte() : i % 2 === 0 ? byte() : buf[at - 1]!;
        put(l.compression === RLE8 ? b : i % 2 === 0 ? b >> 4 : b & 0x0f);
      }
      if (bytes % 2 === 1) byte();
    }
    if (y > height) corrupt('the RLE data runs past the last row');
  }
}

/** Decodes a BMP to RGB or RGBA, top row first. Check its size against the limits (bmpSize) before calling. */
export function decodeBmp(buf: Buffer): DecodedBmp {
  const l = layout(buf);
  const { width, height, bitsPerPixel: bpp } = l;
  const rgba = Buffer.alloc(width * height * 4);
  const fromPalette = (index: number, to: number): void => {
    const at = index * l.entry;
    // An index past the palette is drawn black, as browsers do.
    if (at + 2 < l.palette.length) {
      rgba[to] = l.palette[at + 2]!;
      rgba[to + 1] = l.palette[at + 1]!;
      rgba[to + 2] = l.palette[at]!;
    }
    rgba[to + 3] = 255;
  };
  // Alpha bytes seen: any not zero, any not opaque.
  let anyAlpha = false;
  let translucent = false;
  if (l.compression === RLE8 || l.compression === RLE4) {
    const indices = unRle(buf, l);
    for (let row = 0; row < height; row += 1) {
      const y = height - 1 - row;
      for (let x = 0; x < width; x += 1) fromPalette(indices[row * width + x]!, (y * width + x) * 4);
    }
  } else {
    const stride = Math.floor((bpp * width + 31) / 32) * 4;
    if (l.dataOffset + stride * height > buf.length) corrupt('the pixel data is cut short');
    const [red, green, blue, opacity] = l.masks.map(channel) as [(px: number) => number, (px: number) => number, (px: number) => number, (px: number) => number];
    const hasAlphaMask = l.masks[3] !== 0;
    for (let row = 0; row < height; row += 1) {
      const y = l.topDown ? row : height - 1 - row;
      const start = l.dataOffset + row * stride;
      for (let x = 0; x < width; x += 1) {
        const to = (y * width + x) * 4;
        if (bpp <= 8) {
          const perByte = 8 / bpp;
          const b = buf[start + Math.floor(x / perByte)]!;
          const shift = 8 - bpp * ((x % perByte) + 1);
          fromPalette((b >> shift) & (2 ** bpp - 1), to);
        } else if (bpp === 24) {
          const at = start + x * 3;
          rgba[to] = buf[at + 2]!;
          rgba[to + 1] = buf[at + 1]!;
          rgba[to + 2] = buf[at]!;
          rgba[to + 3] = 255;
        } else {
          const px = bpp === 16 ? buf.readUInt16LE(start + x * 2) : buf.readUInt32LE(start + x * 4);
          rgba[to] = red(px);
          rgba[to + 1] = green(px);
          rgba[to + 2] = blue(px);
          const a = hasAlphaMask ? opacity(px) : 255;
          rgba[to + 3] = a;
          anyAlpha ||= a !== 0;
          translucent ||= a !== 255;
        }
      }
    }
  }
  // An alpha channel that is zero everywhere is the "reserved" byte of writers that meant no alpha: opaque.
  if (!anyAlpha || !translucent) return { width, height, channels: 3, data: dropAlpha(rgba) };
  return { width, height, channels: 4, data: rgba };
}

function dropAlpha(rgba: Buffer): Buffer {
  const rgb = Buffer.allocUnsafe((rgba.length / 4) * 3);
  for (let i = 0, j = 0; i < rgba.length; i += 4, j += 3) {
    rgb[j] = rgba[i]!;
    rgb[j + 1] = rgba[i + 1]!;
    rgb[j + 2] = rgba[i + 2]!;
  }
  return rgb;
}
