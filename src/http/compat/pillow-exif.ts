// Seed 001's exif_json: a photo's first EXIF directory (IFD0) as Pillow's getexif() gives it, names and values alike.
import { LRUCache } from 'lru-cache';
import { webpExifBlock } from '../../core/metadata/exif.js';

/** Pillow's ExifTags.TAGS names of the tags IFD0 holds (others keep their number, as Pillow does). */
const TAG_NAMES: Readonly<Record<number, string>> = {
  0x0100: 'ImageWidth',
  0x0101: 'ImageLength',
  0x0102: 'BitsPerSample',
  0x0103: 'Compression',
  0x0106: 'PhotometricInterpretation',
  0x010d: 'DocumentName',
  0x010e: 'ImageDescription',
  0x010f: 'Make',
  0x0110: 'Model',
  0x0111: 'StripOffsets',
  0x0112: 'Orientation',
  0x0115: 'SamplesPerPixel',
  0x0116: 'RowsPerStrip',
  0x0117: 'StripByteCounts',
  0x0118: 'MinSampleValue',
  0x0119: 'MaxSampleValue',
  0x011a: 'XResolution',
  0x011b: 'YResolution',
  0x011c: 'PlanarConfiguration',
  0x011d: 'PageName',
  0x0128: 'ResolutionUnit',
  0x0129: 'PageNumber',
  0x0131: 'Software',
  0x0132: 'DateTime',
  0x013b: 'Artist',
  0x013c: 'HostComputer',
  0x013d: 'Predictor',
  0x013e: 'WhitePoint',
  0x013f: 'PrimaryChromaticities',
  0x0140: 'ColorMap',
  0x0142: 'TileWidth',
  0x0143: 'TileLength',
  0x0144: 'TileOffsets',
  0x0145: 'TileByteCounts',
  0x0152: 'ExtraSamples',
  0x0153: 'SampleFormat',
  0x0201: 'JpegIFOffset',
  0x0202: 'JpegIFByteCount',
  0x0211: 'YCbCrCoefficients',
  0x0212: 'YCbCrSubSampling',
  0x0213: 'YCbCrPositioning',
  0x0214: 'ReferenceBlackWhite',
  0x02bc: 'XMLPacket',
  0x4746: 'Rating',
  0x4749: 'RatingPercent',
  0x8298: 'Copyright',
  0x83bb: 'IptcNAA',
  0x8649: 'ImageResources',
  0x8769: 'ExifOffset',
  0x8773: 'InterColorProfile',
  0x8825: 'GPSInfo',
  0x9c9b: 'XPTitle',
  0x9c9c: 'XPComment',
  0x9c9d: 'XPAuthor',
  0x9c9e: 'XPKeywords',
  0x9c9f: 'XPSubject',
  0xa401: 'CustomRendered',
  0xc4a5: 'PrintImageMatching',
};

/** The GPS directory's pointer: location is for the owner's eyes only, never in this public answer. */
const GPS_INFO = 0x8825;
/** A rational as Pillow's IFDRational prints it; a zero denominator is nan whatever the numerator. */
const rational = (numerator: number, denominator: number): string => (denominator === 0 ? 'nan' : pythonFloat(numerator / denominator));

/** Bytes per value of each TIFF type (1 BYTE ... 12 DOUBLE). */
const TYPE_SIZES: Readonly<Record<number, number>> = { 1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 6: 1, 7: 1, 8: 2, 9: 4, 10: 8, 11: 4, 12: 8, 13: 4 };
const MAX_ENTRIES = 512;

/**
 * Python's repr of a float (what str() of Pillow's IFDRational shows): a whole number keeps ".0", and exponents
 * (below 1e-4, from 1e16 up) read "1e-05" rather than JavaScript's "0.00001".
 */
export function pythonFloat(value: number): string {
  if (Number.isNaN(value)) return 'nan';
  if (!Number.isFinite(value)) return value > 0 ? 'inf' : '-inf';
  const [mantissa = '0', exp = '0'] = value.toExponential().split('e');
  const exponent = Number(exp);
  if (exponent < -4 || exponent >= 16) return `${mantissa}e${exponent < 0 ? '-' : '+'}${String(Math.abs(exponent)).padStart(2, '0')}`;
  const text = String(value);
  return /[.e]/.test(text) ? text : `${text}.0`;
}

/** Where the TIFF structure of a file's EXIF starts and ends: a JPEG's APP1, a PNG's eXIf, a WebP's EXIF, a TIFF itself. */
export function exifTiff(bytes: Buffer): Buffer | undefined {
  if (bytes[0] === 0xff && bytes[1] === 0xd8) {
    let at = 2;
    while (at + 4 <= bytes.length && bytes[at] === 0xff) {
      const marker = bytes[at + 1]!;
      if (marker === 0xda || marker === 0xd9) return undefined;
      const size = bytes.readUInt16BE(at + 2);
      if (marker === 0xe1 && bytes.toString('latin1', at + 4, at + 10) === 'Exif\0\0') return bytes.subarray(at + 10, at + 2 + size);
      at += 2 + size;
    }
    return undefined;
  }
  if (bytes.toString('latin1', 1, 4) === 'PNG') {
    let at = 8;
    while (at + 12 <= bytes.length) {
      const size = bytes.readUInt32BE(at);
      const type = bytes.toString('latin1', at + 4, at + 8);
      if (type === 'eXIf') return bytes.subarray(at + 8, at + 8 + size);
      if (type === 'IDAT' || type === 'IEND') return undefined;
      at += 12 + size;
    }
    return undefined;
  }
  if (bytes.toString('latin1', 0, 4) === 'RIFF' && bytes.toString('latin1', 8, 12) === 'WEBP') {
    const block = webpExifBlock(bytes);
    return block && bytes.subarray(block.start, block.end);
  }
  const order = bytes.toString('latin1', 0, 4);
  return order === 'II*\0' || order === 'MM\0*' ? bytes : undefined;
}

/**
 * IFD0 of a TIFF structure as Pillow's getexif() gives it: names from ExifTags.TAGS, text as strings (without the
 * NUL), integers as numbers, rationals as Python float strings ("72.0"), bytes and undefined data as lowercase hex,
 * several values as arrays; GPSInfo left out. {} when the structure is absent or broken.
 */
export function pillowIfd0(tiff: Buffer | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (!tiff || tiff.length < 8) return out;
  const little = tiff.toString('latin1', 0, 2) === 'II';
  if (!little && tiff.toString('latin1', 0, 2) !== 'MM') return out;
  const u16 = (at: number): number => (little ? tiff.readUInt16LE(at) : tiff.readUInt16BE(at));
  const u32 = (at: number): number => (little ? tiff.readUInt32LE(at) : tiff.readUInt32BE(at));
  const i32 = (at: number): number => (little ? tiff.readInt32LE(at) : tiff.readInt32BE(at));
  const ifd = u32(4);
  if (ifd + 2 > tiff.length) return out;
  const count = Math.min(u16(ifd), MAX_ENTRIES);
  for (let i = 0; i < count; i++) {
    const entry = ifd + 2 + i * 12;
    if (entry + 12 > tiff.length) break;
    const tag = u16(entry);
    const type = u16(entry + 2);
    const n = u32(entry + 4);
    const size = TYPE_SIZES[type];
    if (tag === GPS_INFO || size === undefined) continue;
    const length = size * n;
    const start = length <= 4 ? entry + 8 : u32(entry + 8);
    if (start + length > tiff.length) continue;
    const data = tiff.subarray(start, start + length);
    const values: unknown[] = [];
    switch (type) {
      case 2:
        out[TAG_NAMES[tag] ?? String(tag)] = data.toString('latin1').replace(/\0+$/, '');
        continue;
      case 1:
      case 6:
      case 7:
        out[TAG_NAMES[tag] ?? String(tag)] = data.toString('hex');
        continue;
      case 3:
        for (let k = 0; k < n; k++) values.push(u16(start + k * 2));
        break;
      case 8:
        for (let k = 0; k < n; k++) values.push(little ? tiff.readInt16LE(start + k * 2) : tiff.readInt16BE(start + k * 2));
        break;
      case 4:
      case 13:
        for (let k = 0; k < n; k++) values.push(u32(start + k * 4));
        break;
      case 9:
        for (let k = 0; k < n; k++) values.push(i32(start + k * 4));
        break;
      case 5:
        for (let k = 0; k < n; k++) values.push(rational(u32(start + k * 8), u32(start + k * 8 + 4)));
        break;
      case 10:
        for (let k = 0; k < n; k++) values.push(rational(i32(start + k * 8), i32(start + k * 8 + 4)));
        break;
      case 11:
        for (let k = 0; k < n; k++) values.push(little ? tiff.readFloatLE(start + k * 4) : tiff.readFloatBE(start + k * 4));
        break;
      case 12:
        for (let k = 0; k < n; k++) values.push(little ? tiff.readDoubleLE(start + k * 8) : tiff.readDoubleBE(start + k * 8));
        break;
    }
    out[TAG_NAMES[tag] ?? String(tag)] = values.length === 1 ? values[0] : values;
  }
  return out;
}

/** How much of a stored original is read for its IFD0: JPEG, PNG and WebP keep EXIF near the start; a TIFF's may be further. */
const HEAD_BYTES = 256 * 1024;
const TIFF_BYTES = 4 * 1024 * 1024;
const MAX_CACHED = 2000;

export interface ExifJsonReader {
  /** IFD0 of the stored bytes; cached by sha256 (identical bytes, identical EXIF). */
  read(sha256: string, format: string, bytes: number): Promise<Record<string, unknown>>;
}

export function createExifJsonReader(head: (sha256: string, length: number) => Promise<Buffer>): ExifJsonReader {
  const cache = new LRUCache<string, Record<string, unknown>>({ max: MAX_CACHED });
  return {
    async read(sha256, format, bytes) {
      const cached = cache.get(sha256);
      if (cached) return cached;
      let found: Record<string, unknown> = {};
      if (['jpeg', 'png', 'webp', 'tiff'].includes(format) && bytes > 0) {
        try {
          found = pillowIfd0(exifTiff(await head(sha256, Math.min(bytes, format === 'tiff' ? TIFF_BYTES : HEAD_BYTES))));
        } catch {
          // Bytes missing from the store, or a structure cut short by the head: no EXIF to show.
          found = {};
        }
      }
      cache.set(sha256, found);
      return found;
    },
  };
}
