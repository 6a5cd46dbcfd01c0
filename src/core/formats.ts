// What an image is, by its bytes: magic-byte detection and header-declared dimensions.
import { bmpSize, isBmp } from './codecs/bmp/bmp.js';
import { isHeic } from './codecs/heic/heic.js';
import { looksLikeSvg } from './codecs/svg/svg-sniff.js';

/** The formats imgd knows (ALLOWED_FORMATS picks which an upload may be). */
export const IMAGE_FORMATS = ['jpeg', 'png', 'gif', 'webp', 'avif', 'tiff', 'heic', 'bmp', 'svg'] as const;
export type ImageFormat = (typeof IMAGE_FORMATS)[number];

export interface FormatInfo {
  readonly format: ImageFormat;
  readonly contentType: string;
  readonly extension: string;
}

export const FORMATS: Record<ImageFormat, FormatInfo> = {
  jpeg: { format: 'jpeg', contentType: 'image/jpeg', extension: 'jpg' },
  png: { format: 'png', contentType: 'image/png', extension: 'png' },
  gif: { format: 'gif', contentType: 'image/gif', extension: 'gif' },
  webp: { format: 'webp', contentType: 'image/webp', extension: 'webp' },
  avif: { format: 'avif', contentType: 'image/avif', extension: 'avif' },
  tiff: { format: 'tiff', contentType: 'image/tiff', extension: 'tiff' },
  heic: { format: 'heic', contentType: 'image/heic', extension: 'heic' },
  bmp: { format: 'bmp', contentType: 'image/bmp', extension: 'bmp' },
  svg: { format: 'svg', contentType: 'image/svg+xml', extension: 'svg' },
};

/** Bytes needed to tell every known format apart (and read the cheap headers). */
export const SNIFF_BYTES = 64;

const startsWith = (buf: Buffer, bytes: number[], at = 0): boolean =>
  buf.length >= at + bytes.length && bytes.every((b, i) => buf[at + i] === b);
const ascii = (buf: Buffer, text: string, at = 0): boolean =>
  buf.length >= at + text.length && buf.toString('latin1', at, at + text.length) === text;

/** The format the leading bytes announce, or undefined for anything that is not a known image. */
export function detectFormat(head: Buffer): ImageFormat | undefined {
  if (startsWith(head, [0xff, 0xd8, 0xff])) return 'jpeg';
  if (startsWith(head, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) return 'png';
  if (ascii(head, 'GIF87a') || ascii(head, 'GIF89a')) return 'gif';
  if (ascii(head, 'RIFF') && ascii(head, 'WEBP', 8)) return 'webp';
  if (startsWith(head, [0x49, 0x49, 0x2a, 0x00]) || startsWith(head, [0x4d, 0x4d, 0x00, 0x2a])) return 'tiff';
  if (ascii(head, 'ftyp', 4)) {
    const brand = head.toString('latin1', 8, 12);
    if (brand === 'avif' || brand === 'avis') return 'avif';
    if (isHeic(head)) return 'heic';
  }
  if (isBmp(head)) return 'bmp';
  // Text that starts like XML: a candidate SVG until the full parse at commit says otherwise.
  if (looksLikeSvg(head)) return 'svg';
  return undefined;
}

export interface DeclaredSize {
  readonly width: number;
  readonly height: number;
}

/**
 * Dimensions declared in the first bytes of formats that put them there (PNG, GIF, WebP),
 * so a pixel flood is refused before the rest of the body is even read.
 */
export function declaredSize(format: ImageFormat, head: Buffer): DeclaredSize | undefined {
  if (format === 'png' && head.length >= 24 && ascii(head, 'IHDR', 12)) {
    return { width: head.readUInt32BE(16), height: head.readUInt32BE(20) };
  }
  if (format === 'gif' && head.length >= 10) {
    return { width: head.readUInt16LE(6), height: head.readUInt16LE(8) };
  }
  if (format === 'bmp') return bmpSize(head);
  if (format === 'webp' && head.length >= 30) {
    if (ascii(head, 'VP8X', 12)) {
      return { width: 1 + head.readUIntLE(24, 3), height: 1 + head.readUIntLE(27, 3) };
    }
    if (ascii(head, 'VP8L', 12) && head[20] === 0x2f) {
      const bits = head.readUInt32LE(21);
      return { width: 1 + (bits & 0x3fff), height: 1 + ((bits >> 14) & 0x3fff) };
    }
    if (ascii(head, 'VP8 ', 12) && startsWith(head, [0x9d, 0x01, 0x2a], 23)) {
      return { width: head.readUInt16LE(26) & 0x3fff, height: head.readUInt16LE(28) & 0x3fff };
    }
  }
  return undefined;
}
