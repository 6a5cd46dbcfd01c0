// Camera facts from a photo's EXIF (location also from its XMP), shaped for the API; any bytes in, never a throw.
import exifr from 'exifr';
import { detectFormat, SNIFF_BYTES } from '../formats.js';

export interface GpsSummary {
  readonly latitude: number | null;
  readonly longitude: number | null;
  /** Metres above sea level; negative below it. */
  readonly altitude: number | null;
}

/** Shown as-is by the API, hence the snake_case keys. */
export interface ExifSummary {
  readonly make: string | null;
  readonly model: string | null;
  readonly lens: string | null;
  /** Seconds, e.g. 0.004 for 1/250. */
  readonly exposure_time: number | null;
  readonly f_number: number | null;
  readonly iso: number | null;
  /** Millimetres, as the lens reports it. */
  readonly focal_length: number | null;
  readonly focal_length_35mm: number | null;
  /** The camera's wall-clock time, e.g. "2008-10-22T16:28:39", with "-05:00" only when the file states its offset. */
  readonly taken_at: string | null;
  /** EXIF orientation, 1 to 8. */
  readonly orientation: number | null;
  readonly width: number | null;
  readonly height: number | null;
  readonly software: string | null;
  readonly gps: GpsSummary | null;
}

type Block = Record<string, unknown>;

/**
 * One object for every call: exifr caches its parsed options in a Map keyed by the object itself.
 * `pick` is a safety bound, not just thrift: without it exifr reads every tag, and an IFD of thousands
 * of entries all pointing at one huge array costs entries x array length, quadratic in the input.
 * reviveValues is off because exifr builds dates with `new Date(y, m, d)` + setHours in the server's
 * time zone: that invents a zone and moves times that fall in a DST gap (02:30 becomes 03:30 in
 * Europe/Berlin on 2021-03-28). The EXIF text itself is reformatted instead (see takenAt).
 * XMP is kept as raw text: parsed, exifr merges its `exif:` values over the EXIF block's numbers.
 */
const OPTIONS = {
  ifd0: { pick: ['Make', 'Model', 'Orientation', 'ImageWidth', 'ImageHeight', 'Software'] },
  exif: {
    pick: [
      'ExposureTime', 'FNumber', 'ISO', 'FocalLength', 'FocalLengthIn35mmFormat', 'DateTimeOriginal',
      'CreateDate', 'OffsetTimeOriginal', 'ExifImageWidth', 'ExifImageHeight', 'LensMake', 'LensModel',
    ],
  },
  gps: { pick: ['GPSLatitudeRef', 'GPSLatitude', 'GPSLongitudeRef', 'GPSLongitude', 'GPSAltitudeRef', 'GPSAltitude'] },
  xmp: { parse: false },
  ifd1: false,
  interop: false,
  icc: false,
  iptc: false,
  jfif: false,
  ihdr: false,
  makerNote: false,
  userComment: false,
  translateValues: false,
  reviveValues: false,
  mergeOutput: false,
};

/**
 * Only what tells a location: the GPS block and the XMP text. exifr's types say IFD0 "cannot be disabled": it is still
 * read for its pointer to the GPS block, and left out of the output.
 */
const LOCATION_OPTIONS = { ...OPTIONS, ifd0: false, exif: false } as unknown as typeof OPTIONS;

const EXIF_MARK = Buffer.from('Exif\0\0', 'latin1');

export async function readExif(bytes: Buffer): Promise<ExifSummary | null> {
  const raw = await parseRaw(bytes, OPTIONS);
  return raw ? summarize(raw) : null;
}

/** The location alone, at half readExif's cost: for checking that bytes said to be scrubbed have none left. */
export async function readLocation(bytes: Buffer): Promise<GpsSummary | null> {
  const raw = await parseRaw(bytes, LOCATION_OPTIONS);
  return raw ? locationOf(raw) : null;
}

async function parseRaw(bytes: Buffer, options: typeof OPTIONS): Promise<Record<string, unknown> | null> {
  try {
    const input = exifrInput(bytes);
    if (input === undefined) return null;
    const raw = (await exifr.parse(input, options)) as unknown;
    return raw !== null && typeof raw === 'object' ? (raw as Record<string, unknown>) : null;
  } catch {
    // exifr throws on anything malformed ("Unknown file format", RangeError on a short buffer...): no metadata then.
    return null;
  }
}

/**
 * What of the file exifr gets to see. Not a flat size cap: EXIF sits at the start of a JPEG but
 * anywhere in a TIFF (IFD offsets are absolute) or a HEIC (the Exif item is usually in `mdat`,
 * possibly at the end). exifr's walks over JPEG, PNG and TIFF always move forward and, with `pick`,
 * cost linear time, so the bound is per format: a JPEG's header only, the TIFF of WebP's EXIF chunk
 * (exifr cannot read WebP) and of a HEIC/AVIF Exif item (exifr's reader for those is unsafe).
 */
function exifrInput(bytes: Buffer): Buffer | undefined {
  const format = detectFormat(bytes.subarray(0, SNIFF_BYTES));
  if (format === 'jpeg') return bytes.subarray(0, jpegHeaderEnd(bytes));
  if (format === 'png' || format === 'tiff') return bytes;
  if (format === 'webp') {
    const block = webpExifBlock(bytes);
    return block && bytes.subarray(block.start, block.end);
  }
  if (bytes.toString('latin1', 4, 8) === 'ftyp') return heifExifBlock(bytes);
  return undefined;
}

/** Whether all readExif looks at lies within these first bytes of a file: a JPEG whose header ends inside them. */
export function exifWithin(head: Buffer): boolean {
  return detectFormat(head.subarray(0, SNIFF_BYTES)) === 'jpeg' && jpegHeaderEnd(head) < head.length;
}

/**
 * Where the first scan starts: every APPn segment (EXIF, XMP) precedes it, the compressed image follows.
 * The 4 bytes of the SOS marker are included: exifr calls a segment that ends exactly at the end of
 * its input unreachable, and stops by itself on seeing SOS.
 */
export function jpegHeaderEnd(bytes: Buffer): number {
  let at = 2;
  while (at + 4 <= bytes.length && bytes[at] === 0xff) {
    const marker = bytes[at + 1]!;
    if (marker === 0xda || marker === 0xd9) break;
    if (marker === 0xff) at += 1; // fill byte before a marker
    else if (marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) at += 2; // markers without a length
    else at += 2 + bytes.readUInt16BE(at + 2);
  }
  return Math.min(at + 4, bytes.length);
}

/** The TIFF bytes of a WebP's EXIF chunk; some writers put JPEG's "Exif\0\0" before them. Shared with privacy.ts. */
export function webpExifBlock(bytes: Buffer): { start: number; end: number } | undefined {
  let at = 12;
  while (at + 8 <= bytes.length) {
    const size = bytes.readUInt32LE(at + 4);
    const start = at + 8;
    const end = start + size;
    if (end > bytes.length) return undefined;
    if (bytes.toString('latin1', at, at + 4) === 'EXIF') {
      const prefixed = bytes.toString('latin1', start, start + 6) === 'Exif\0\0';
      return { start: prefixed ? start + 6 : start, end };
    }
    at = end + (size & 1);
  }
  return undefined;
}

/**
 * The TIFF of a HEIC/AVIF Exif item, found by the "Exif\0\0" that Apple and libheif put before it.
 * exifr's own ISO-BMFF reader is not used: it ignores iloc's base_offset (so it misreads libheif's,
 * hence sharp's, AVIF files) and hops from box to box without checking sizes, looping forever,
 * synchronously (no timer can end it), on a box of size 0: a 64-byte file was enough.
 */
function heifExifBlock(bytes: Buffer): Buffer | undefined {
  for (let at = bytes.indexOf(EXIF_MARK); at !== -1; at = bytes.indexOf(EXIF_MARK, at + 1)) {
    const head = bytes.toString('latin1', at + 6, at + 10);
    if (head === 'II*\0' || head === 'MM\0*') return bytes.subarray(at + 6);
  }
  return undefined;
}

function summarize(raw: Record<string, unknown>): ExifSummary | null {
  const ifd0 = block(raw.ifd0);
  const exif = block(raw.exif);
  const gps = locationOf(raw);
  const summary: ExifSummary = {
    make: text(ifd0.Make),
    model: text(ifd0.Model),
    lens: lensOf(text(exif.LensMake), text(exif.LensModel)),
    exposure_time: positive(exif.ExposureTime),
    f_number: positive(exif.FNumber),
    iso: positive(exif.ISO),
    focal_length: positive(exif.FocalLength),
    focal_length_35mm: positive(exif.FocalLengthIn35mmFormat),
    taken_at: takenAt(exif.DateTimeOriginal, exif.OffsetTimeOriginal) ?? takenAt(exif.CreateDate, exif.OffsetTimeOriginal),
    orientation: orientationOf(ifd0.Orientation),
    width: positive(exif.ExifImageWidth) ?? positive(ifd0.ImageWidth),
    height: positive(exif.ExifImageHeight) ?? positive(ifd0.ImageHeight),
    software: text(ifd0.Software),
    gps,
  };
  return Object.values(summary).every((value) => value === null) ? null : summary;
}

const locationOf = (raw: Record<string, unknown>): GpsSummary | null =>
  gpsOf(block(raw.gps)) ?? (typeof raw.xmp === 'string' ? xmpGps(raw.xmp) : null);

const block = (value: unknown): Block => (value !== null && typeof value === 'object' ? (value as Block) : {});

function text(value: unknown): string | null {
  if (typeof value !== 'string') return null;
  // exifr strips the NUL padding but not control characters some firmwares write into empty fields.
  const clean = value.replace(/\p{Cc}/gu, '').trim();
  return clean === '' ? null : clean;
}

/** exifr gives a number, or an array (typed or not) for tags stored with more than one value. */
function number(value: unknown): number | null {
  const first: unknown = ArrayBuffer.isView(value) || Array.isArray(value) ? (value as ArrayLike<unknown>)[0] : value;
  return typeof first === 'number' && Number.isFinite(first) ? first : null;
}

function positive(value: unknown): number | null {
  const n = number(value);
  return n !== null && n > 0 ? n : null;
}

function lensOf(make: string | null, model: string | null): string | null {
  if (model === null) return null;
  return make === null || model.toLowerCase().startsWith(make.toLowerCase()) ? model : `${make} ${model}`;
}

function orientationOf(raw: unknown): number | null {
  const value = number(raw);
  return value !== null && Number.isInteger(value) && value >= 1 && value <= 8 ? value : null;
}

const EXIF_DATE = /^(\d{4}):(\d{2}):(\d{2})[ T](\d{2}):(\d{2}):(\d{2})/;
const UTC_OFFSET = /^[+-](?:[01]\d|2[0-3]):[0-5]\d$/;

/**
 * EXIF's "YYYY:MM:DD HH:MM:SS" as ISO 8601 without shifting it: EXIF dates are the camera's local
 * time and carry no zone, so the offset is appended only when the file states it (OffsetTimeOriginal).
 * Placeholders like "0000:00:00 00:00:00" and impossible dates give null.
 */
function takenAt(value: unknown, offset: unknown): string | null {
  const match = typeof value === 'string' ? EXIF_DATE.exec(value.trim()) : null;
  if (!match) return null;
  const [year, month, day, hour, minute, second] = match.slice(1).map(Number) as [number, number, number, number, number, number];
  const check = new Date(Date.UTC(year, month - 1, day, hour, minute, second));
  const valid =
    year >= 1800 && check.getUTCMonth() === month - 1 && check.getUTCDate() === day && hour < 24 && minute < 60 && second < 60;
  if (!valid) return null;
  const zone = typeof offset === 'string' && UTC_OFFSET.test(offset.trim()) ? offset.trim() : '';
  return `${match[1]}-${match[2]}-${match[3]}T${match[4]}:${match[5]}:${match[6]}${zone}`;
}

function gpsOf(gps: Block): GpsSummary | null {
  const latitude = coordinate(gps.latitude, 90);
  const longitude = coordinate(gps.longitude, 180);
  if (latitude === null && longitude === null) return null;
  const altitude = number(gps.GPSAltitude);
  const below = number(gps.GPSAltitudeRef) === 1;
  return { latitude, longitude, altitude: altitude === null ? null : below ? -altitude : altitude };
}

/** Phones without a fix write 0/0 rationals, which exifr turns into NaN. */
function coordinate(value: unknown, limit: number): number | null {
  return typeof value === 'number' && Number.isFinite(value) && Math.abs(value) <= limit ? value : null;
}

/** XMP's exif:GPSLatitude etc., as an attribute or as an element of the exif namespace. */
function xmpProperty(xmp: string, name: string): string | null {
  const attribute = new RegExp(`\\bexif:${name}\\s*=\\s*(["'])([^"'<>]*)\\1`).exec(xmp);
  if (attribute) return attribute[2]!.trim();
  const element = new RegExp(`<exif:${name}(?:\\s[^>]*)?>([^<]*)</exif:${name}\\s*>`).exec(xmp);
  return element ? element[1]!.trim() : null;
}

/** XMP writes coordinates as "DDD,MM,SSk" or "DDD,MM.mmk", k being N, S, E or W. */
function xmpCoordinate(value: string | null, limit: number): number | null {
  const match = value === null ? null : /^(\d{1,3}),(\d{1,2}(?:\.\d+)?)(?:,(\d{1,2}(?:\.\d+)?))?([NSEW])$/i.exec(value);
  if (!match) return null;
  const degrees = Number(match[1]) + Number(match[2]) / 60 + Number(match[3] ?? 0) / 3600;
  return coordinate(/[SW]/i.test(match[4]!) ? -degrees : degrees, limit);
}

/** XMP rationals are "num/den" text. */
function xmpRational(value: string | null): number | null {
  const match = value === null ? null : /^(-?\d+(?:\.\d+)?)(?:\/(\d+(?:\.\d+)?))?$/.exec(value);
  const result = match ? Number(match[1]) / Number(match[2] ?? 1) : NaN;
  return Number.isFinite(result) ? result : null;
}

function xmpGps(xmp: string): GpsSummary | null {
  const latitude = xmpCoordinate(xmpProperty(xmp, 'GPSLatitude'), 90);
  const longitude = xmpCoordinate(xmpProperty(xmp, 'GPSLongitude'), 180);
  if (latitude === null && longitude === null) return null;
  const altitude = xmpRational(xmpProperty(xmp, 'GPSAltitude'));
  const below = xmpProperty(xmp, 'GPSAltitudeRef') === '1';
  return { latitude, longitude, altitude: altitude === null ? null : below ? -altitude : altitude };
}
