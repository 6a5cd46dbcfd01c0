// Privacy at ingest: a staged upload that carries a GPS location is stored without it; the location goes to metadata.
import { createHash } from 'node:crypto';
import { open, readFile, writeFile } from 'node:fs/promises';
import sharp from 'sharp';
import { fsyncPath } from '../store/fsync.js';
import { exifWithin, readExif, type ExifSummary } from './exif.js';
import { scrubGps } from './privacy.js';

export interface LocationOutcome {
  readonly sha256: string;
  readonly bytes: number;
  /** The EXIF as read before the location was taken out, for the owner's eyes. */
  readonly exif: ExifSummary;
  /** True when the file had to be re-encoded because the location could not be blanked in place. */
  readonly reencoded: boolean;
}

const located = (exif: ExifSummary | null): boolean =>
  exif?.gps != null && (exif.gps.latitude !== null || exif.gps.longitude !== null);

/** JPEG metadata precedes the image data: a head this size holds all of it in practice. */
const HEAD_BYTES = 512 * 1024;

async function readHead(file: string): Promise<Buffer> {
  const handle = await open(file, 'r');
  try {
    const head = Buffer.alloc(HEAD_BYTES);
    const { bytesRead } = await handle.read(head, 0, HEAD_BYTES, 0);
    return head.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}

/** Rewrites the staged file without its location; undefined when it had none (and was left untouched). */
export async function removeLocation(file: string): Promise<LocationOutcome | undefined> {
  // Most uploads carry no location: when the head shows all the metadata, a large file is not read whole for nothing.
  const head = await readHead(file);
  if (exifWithin(head) && !located(await readExif(head))) return undefined;
  const original = await readFile(file);
  const exif = await readExif(original);
  if (!exif || !located(exif)) return undefined;
  let clean = scrubGps(original).bytes;
  let reencoded = false;
  if (located(await readExif(clean))) {
    // Somewhere the in-place scrub cannot reach (maker notes, compressed XMP): re-encode, keeping no metadata.
    clean = await sharp(clean, { failOn: 'none', animated: true }).rotate().toBuffer();
    reencoded = true;
  }
  await writeFile(file, clean);
  await fsyncPath(file);
  return { sha256: createHash('sha256').update(clean).digest('hex'), bytes: clean.length, exif, reencoded };
}
