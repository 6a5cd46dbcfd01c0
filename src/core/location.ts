// Privacy at ingest: a staged upload that carries a GPS location is stored without it; the location goes to metadata.
import { createHash } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import sharp from 'sharp';
import { exifWithin, readExif, type ExifSummary } from './exif.js';
import type { ImageFormat } from '../config.js';
import type { FileHead } from './file-head.js';
import { hasMetadataView, metadataView } from './metadata-view.js';
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

/**
 * Rewrites the staged file without its location; undefined when it had none (and was left untouched). The rewrite is
 * not flushed: the caller flushes the staged file once, before publishing it. `start` is the head ingest read already.
 */
export async function removeLocation(file: string, format: ImageFormat, start: FileHead): Promise<LocationOutcome | undefined> {
  // Most uploads carry no location: when the head holds all the metadata (or all the file), nothing more is read.
  let exif: ExifSummary | null | undefined;
  if (start.whole || exifWithin(start.bytes)) {
    exif = await readExif(start.bytes);
    if (!located(exif)) return undefined;
  } else {
    // A large PNG or WebP: its metadata chunks can sit after the pixels; they are gathered without the pixels.
    const view = hasMetadataView(format) ? await metadataView(file, format) : undefined;
    if (view) {
      exif = await readExif(view);
      if (!located(exif)) return undefined;
    }
  }
  const original = start.whole ? start.bytes : await readFile(file);
  if (exif === undefined) exif = await readExif(original);
  if (!exif || !located(exif)) return undefined;
  let clean = scrubGps(original).bytes;
  let reencoded = false;
  if (located(await readExif(clean))) {
    // Somewhere the in-place scrub cannot reach (maker notes, compressed XMP): re-encode, keeping no metadata.
    clean = await sharp(clean, { failOn: 'none', animated: true }).rotate().toBuffer();
    reencoded = true;
  }
  await writeFile(file, clean);
  return { sha256: createHash('sha256').update(clean).digest('hex'), bytes: clean.length, exif, reencoded };
}
