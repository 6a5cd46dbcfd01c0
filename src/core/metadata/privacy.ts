// Takes the GPS location out of image bytes without re-encoding them: GPS is never served publicly.
import { jpegHeaderEnd, webpExifBlock } from './exif.js';
import { detectFormat, SNIFF_BYTES } from '../formats.js';

export interface ScrubResult {
  /** Same length, same pixels, location fields blanked: the input itself when scrubbed in place, else a copy. */
  readonly bytes: Buffer;
  readonly changed: boolean;
}

export interface ScrubOptions {
  /**
   * The caller will not need the bytes as they came: blank them where they are, without a copy (except in a PNG, whose
   * chunk CRCs are mended where the scrubbed chunks differ from the originals).
   */
  readonly inPlace?: boolean;
}

/** A TIFF structure (EXIF) in the file: header at `start`, offsets relative to it, nothing of it at or past `end`. */
interface TiffBlock {
  readonly start: number;
  readonly end: number;
  /** Found by its header alone, so IFD0 must parse cleanly before anything is written. */
  readonly strict: boolean;
}

interface Tiff {
  readonly bytes: Buffer;
  readonly start: number;
  readonly size: number;
  readonly le: boolean;
}

interface Ifd {
  /** Offset from the TIFF header. */
  readonly at: number;
  readonly count: number;
  /** Entries wholly inside the block (and within MAX_ENTRIES). */
  readonly fits: number;
}

const GPS_INFO = 0x8825;
const EXIF_IFD = 0x8769;
/** Bytes per value of TIFF types 1..13; 0 for unknown types. */
const TYPE_SIZES = [0, 1, 1, 2, 4, 8, 1, 1, 2, 4, 8, 4, 8, 4];
// Work bounds for hostile files; real ones have one or two EXIF blocks, two IFDs and under 100 entries each.
const MAX_BLOCKS = 64;
const MAX_IFDS = 64;
const MAX_ENTRIES = 4096;
const EXIF_MARK = Buffer.from('Exif\0\0', 'latin1');

/**
 * Blanks the GPS IFD of every EXIF block (values, out-of-line data, entries, count set to 0) and every
 * GPS property of XMP packets (overwritten with spaces), in place in a copy (or in the input, see ScrubOptions): the
 * length and every offset stay as they were, so the image decodes to the same pixels. PNG chunks touched get a fresh
 * CRC. Not reached: XMP in compressed PNG text chunks, UTF-16 XMP, location in maker notes.
 */
export function scrubGps(bytes: Buffer, options: ScrubOptions = {}): ScrubResult {
  const png = detectFormat(bytes.subarray(0, SNIFF_BYTES)) === 'png';
  const out = options.inPlace && !png ? bytes : copyOf(bytes);
  let changed = false;
  for (const block of tiffBlocks(out)) changed = blankGps(out, block) || changed;
  changed = blankXmpGps(out) || changed;
  if (changed && png) fixPngCrcs(out, bytes);
  return { bytes: out, changed };
}

function copyOf(bytes: Buffer): Buffer {
  // Not Buffer.from(bytes): that zero-fills a fresh buffer before copying over every byte of it.
  const out = Buffer.allocUnsafeSlow(bytes.length);
  bytes.copy(out);
  return out;
}

function tiffBlocks(bytes: Buffer): TiffBlock[] {
  const format = detectFormat(bytes.subarray(0, SNIFF_BYTES));
  if (format === 'tiff') return [{ start: 0, end: bytes.length, strict: false }];
  if (format === 'png') {
    return [...pngChunks(bytes)]
      .filter((chunk) => chunk.type === 'eXIf')
      .map((chunk) => ({ start: afterExifMark(bytes, chunk.at + 8), end: chunk.dataEnd, strict: false }));
  }
  if (format === 'webp') {
    const block = webpExifBlock(bytes);
    return block ? [{ ...block, strict: false }] : [];
  }
  const blocks = exifMarkedBlocks(bytes);
  if (bytes.toString('latin1', 4, 8) === 'ftyp') blocks.push(...bareBlocks(bytes, blocks));
  return blocks;
}

const afterExifMark = (bytes: Buffer, at: number): number => (bytes.subarray(at, at + 6).equals(EXIF_MARK) ? at + 6 : at);

const isTiffHeader = (bytes: Buffer, at: number): boolean => {
  const head = bytes.toString('latin1', at, at + 4);
  return head === 'II*\0' || head === 'MM\0*';
};

/**
 * TIFF headers right after "Exif\0\0": JPEG APP1 segments, those of images embedded after the main
 * one (MPF previews carry their own EXIF) included, and HEIF Exif items.
 */
function exifMarkedBlocks(bytes: Buffer): TiffBlock[] {
  const blocks: TiffBlock[] = [];
  for (let at = bytes.indexOf(EXIF_MARK); at !== -1 && blocks.length < MAX_BLOCKS; at = bytes.indexOf(EXIF_MARK, at + 1)) {
    if (isTiffHeader(bytes, at + 6)) blocks.push({ start: at + 6, end: app1End(bytes, at) ?? bytes.length, strict: false });
  }
  return blocks;
}

/** In a JPEG "Exif\0\0" opens an APP1 segment, whose length bounds the TIFF inside. */
function app1End(bytes: Buffer, mark: number): number | undefined {
  if (mark < 4 || bytes[mark - 4] !== 0xff || bytes[mark - 3] !== 0xe1) return undefined;
  return Math.min(mark - 2 + bytes.readUInt16BE(mark - 2), bytes.length);
}

/** HEIF Exif items need not say "Exif\0\0": any other TIFF header counts if its IFD0 parses strictly. */
function bareBlocks(bytes: Buffer, known: readonly TiffBlock[]): TiffBlock[] {
  const blocks: TiffBlock[] = [];
  for (const head of ['II*\0', 'MM\0*']) {
    for (let at = bytes.indexOf(head, 0, 'latin1'); at !== -1; at = bytes.indexOf(head, at + 1, 'latin1')) {
      if (known.length + blocks.length >= MAX_BLOCKS) return blocks;
      if (!known.some((block) => block.start === at)) blocks.push({ start: at, end: bytes.length, strict: true });
    }
  }
  return blocks;
}

function blankGps(bytes: Buffer, block: TiffBlock): boolean {
  const size = block.end - block.start;
  if (size < 8 || !isTiffHeader(bytes, block.start)) return false;
  const tiff: Tiff = { bytes, start: block.start, size, le: bytes[block.start] === 0x49 };
  let changed = false;
  for (const at of gpsIfdOffsets(tiff, block.strict)) changed = blankIfd(tiff, at) || changed;
  return changed;
}

const u16 = (t: Tiff, at: number): number => (t.le ? t.bytes.readUInt16LE(t.start + at) : t.bytes.readUInt16BE(t.start + at));
const u32 = (t: Tiff, at: number): number => (t.le ? t.bytes.readUInt32LE(t.start + at) : t.bytes.readUInt32BE(t.start + at));
const entryAt = (ifd: Ifd, index: number): number => ifd.at + 2 + 12 * index;

function ifdAt(t: Tiff, at: number): Ifd | undefined {
  if (at < 8 || at + 2 > t.size) return undefined;
  const count = u16(t, at);
  return { at, count, fits: Math.min(count, MAX_ENTRIES, Math.floor((t.size - at - 2) / 12)) };
}

/** Where an entry's value bytes are: inside the entry when they fit in 4 bytes, else at the offset it holds. */
function valueRange(t: Tiff, entry: number): { at: number; length: number } | undefined {
  const size = TYPE_SIZES[u16(t, entry + 2)] ?? 0;
  if (size === 0) return undefined;
  const length = size * u32(t, entry + 4);
  if (length <= 4) return { at: entry + 8, length };
  const at = u32(t, entry + 8);
  return at >= 8 && at + length <= t.size ? { at, length } : undefined;
}

/** The whole table and its next-IFD pointer fit, and every entry has a known type and a value inside the block. */
function parsesStrictly(t: Tiff, ifd: Ifd): boolean {
  if (ifd.count === 0 || ifd.fits !== ifd.count || entryAt(ifd, ifd.count) + 4 > t.size) return false;
  for (let i = 0; i < ifd.count; i++) if (valueRange(t, entryAt(ifd, i)) === undefined) return false;
  return true;
}

/**
 * GPS IFDs pointed to from IFD0 and the IFDs chained after it (multi-page TIFFs), read leniently unless
 * `strict`. A GPS pointer to a chained IFD or to the Exif IFD is a writer's mistake, not location: left alone.
 */
function gpsIfdOffsets(t: Tiff, strict: boolean): number[] {
  const gps: number[] = [];
  const others = new Set<number>();
  for (let at = u32(t, 4); at !== 0 && others.size < MAX_IFDS && !others.has(at); ) {
    const ifd = ifdAt(t, at);
    if (ifd === undefined || (strict && !parsesStrictly(t, ifd))) break;
    others.add(at);
    for (let i = 0; i < ifd.fits; i++) {
      const entry = entryAt(ifd, i);
      const tag = u16(t, entry);
      const pointer = tag === GPS_INFO || tag === EXIF_IFD ? ifdPointer(t, entry) : undefined;
      if (pointer !== undefined && tag === GPS_INFO) gps.push(pointer);
      else if (pointer !== undefined) others.add(pointer);
    }
    const next = entryAt(ifd, ifd.count);
    if (ifd.fits < ifd.count || next + 4 > t.size) break;
    at = u32(t, next);
  }
  return gps.filter((at) => !others.has(at) && isBlankable(t, at, strict));
}

/** The offset a pointer entry holds; any integer type is taken, as lenient readers do. */
function ifdPointer(t: Tiff, entry: number): number | undefined {
  const type = u16(t, entry + 2);
  if (type === 3) return u16(t, entry + 8);
  return type === 4 || type === 9 || type === 13 ? u32(t, entry + 8) : undefined;
}

function isBlankable(t: Tiff, at: number, strict: boolean): boolean {
  const ifd = ifdAt(t, at);
  return ifd !== undefined && (!strict || parsesStrictly(t, ifd));
}

/** Zeroes the entries' out-of-line values, then the count and entries (inline values with them). */
function blankIfd(t: Tiff, at: number): boolean {
  const ifd = ifdAt(t, at);
  if (ifd === undefined || ifd.count === 0) return false;
  for (let i = 0; i < ifd.fits; i++) {
    const value = valueRange(t, entryAt(ifd, i));
    if (value !== undefined && value.length > 4) t.bytes.fill(0, t.start + value.at, t.start + value.at + value.length);
  }
  t.bytes.fill(0, t.start + at, t.start + entryAt(ifd, ifd.fits));
  return true;
}

const XMP_PACKETS = [
  ['<x:xmpmeta', '</x:xmpmeta>'],
  ['<x:xapmeta', '</x:xapmeta>'], // Photoshop 7 and older
] as const;

/**
 * GPS properties in any namespace (exif:GPSLatitude, drone-dji:GpsLongitude...), as an element or as an
 * attribute; namespace declarations (xmlns:...) are left alone so the rest of the packet stays well-formed.
 */
const XMP_GPS = /<([\w.-]+:gps[\w.-]*)(?=[\s/>])[^>]*?(?:\/>|>[\s\S]*?<\/\1\s*>)|(?<=\s)(?!xmlns:)[\w.-]+:gps[\w.-]*\s*=\s*(?:"[^"]*"|'[^']*')/gi;

/** Spaces are valid wherever an element or attribute stood, and keep every byte where it was. */
function blankXmpGps(bytes: Buffer): boolean {
  let changed = false;
  // A JPEG's XMP sits in APP1 segments, before the image data: the compressed pixels need no search.
  const jpeg = detectFormat(bytes.subarray(0, SNIFF_BYTES)) === 'jpeg';
  const searched = jpeg ? bytes.subarray(0, jpegHeaderEnd(bytes)) : bytes;
  for (const [open, close] of XMP_PACKETS) {
    for (let start = searched.indexOf(open, 0, 'latin1'); start !== -1; start = searched.indexOf(open, start + 1, 'latin1')) {
      const end = searched.indexOf(close, start, 'latin1');
      if (end === -1) break;
      changed = blankMatches(bytes, start, bytes.toString('latin1', start, end)) || changed;
    }
  }
  return changed;
}

function blankMatches(bytes: Buffer, start: number, packet: string): boolean {
  let changed = false;
  for (const match of packet.matchAll(XMP_GPS)) {
    // 0xFF never occurs in UTF-8: a match holding one spans the header of the next JPEG segment (extended XMP).
    if (match[0].includes('\xff')) continue;
    bytes.fill(0x20, start + match.index, start + match.index + match[0].length);
    changed = true;
  }
  return changed;
}

interface PngChunk {
  readonly type: string;
  readonly at: number;
  readonly dataEnd: number;
}

function* pngChunks(bytes: Buffer): Generator<PngChunk> {
  for (let at = 8; at + 12 <= bytes.length; ) {
    const dataEnd = at + 8 + bytes.readUInt32BE(at);
    if (dataEnd + 4 > bytes.length) return;
    const type = bytes.toString('latin1', at + 4, at + 8);
    yield { type, at, dataEnd };
    if (type === 'IEND') return;
    at = dataEnd + 4;
  }
}

/** Each chunk ends with a CRC of its type and data; decoders reject a chunk whose CRC no longer matches. */
function fixPngCrcs(scrubbed: Buffer, original: Buffer): void {
  for (const chunk of pngChunks(scrubbed)) {
    if (scrubbed.compare(original, chunk.at + 8, chunk.dataEnd, chunk.at + 8, chunk.dataEnd) !== 0) {
      scrubbed.writeUInt32BE(crc32(scrubbed.subarray(chunk.at + 4, chunk.dataEnd)), chunk.dataEnd);
    }
  }
}

/** zlib.crc32 only exists from Node 20.15; imgd supports 20.11. */
const CRC_TABLE = Uint32Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(data: Buffer): number {
  let crc = 0xffffffff;
  for (const byte of data) crc = CRC_TABLE[(crc ^ byte) & 0xff]! ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}
