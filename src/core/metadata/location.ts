// Metadata at ingest: the EXIF read once from the bytes ingest already holds, and the upload without its GPS location.
import { readFile } from 'node:fs/promises';
import sharp from 'sharp';
import { exifWithin, readExif, readLocation, type ExifSummary, type GpsSummary } from './exif.js';
import type { ImageFormat } from '../formats.js';
import { hasMetadataView, metadataView } from './metadata-view.js';
import { scrubGps } from './privacy.js';

/** The bytes ingest holds: all of them (`whole`), or the start of a staged file. */
export interface HeldBytes {
  readonly head: Buffer;
  readonly whole: boolean;
  readonly file: string | undefined;
  /** A PNG or WebP's chunks without its pixels, gathered as the upload streamed (see structure.ts). */
  readonly metadata?: Buffer | undefined;
}

export interface IngestMetadata {
  /** The EXIF with any location (for the owner's eyes); null when none was found in what was read. */
  readonly exif: ExifSummary | null;
  /** True when the EXIF was read (found or not): the processing job need not read it again. */
  readonly read: boolean;
  /** The bytes to store instead, without their location; undefined when they are kept as they came. */
  readonly clean: Buffer | undefined;
  /** True when the clean bytes had to be re-encoded because the location could not be blanked in place. */
  readonly reencoded: boolean;
}

const located = (gps: GpsSummary | null | undefined): boolean => gps != null && (gps.latitude !== null || gps.longitude !== null);

/** The metadata readExif can see without the whole file: a JPEG's header, or a PNG/WebP's chunks without pixels. */
async function metadataBytes(held: HeldBytes, format: ImageFormat): Promise<Buffer | undefined> {
  if (held.whole || exifWithin(held.head)) return held.head;
  if (held.metadata) return held.metadata;
  if (held.file && hasMetadataView(format)) return metadataView(held.file, format);
  return undefined;
}

/** Runs a decode within the shared decode memory budget. */
export type WithinBudget = <T>(work: () => Promise<T>) => Promise<T>;

export async function readIngestMetadata(held: HeldBytes, format: ImageFormat, stripLocation: boolean, withinBudget: WithinBudget = (work) => work()): Promise<IngestMetadata> {
  const view = await metadataBytes(held, format);
  const exif = view ? await readExif(view) : null;
  const kept: IngestMetadata = { exif, read: view !== undefined, clean: undefined, reencoded: false };
  if (!stripLocation || !located(exif?.gps)) return kept;
  // The bytes as they came are not needed once scrubbed (the hash is of the bytes kept): no copy of them is made.
  const original = held.whole ? held.head : await readFile(held.file!);
  let clean = scrubGps(original, { inPlace: true }).bytes;
  let reencoded = false;
  if (located(await readLocation(clean))) {
    // Somewhere the in-place scrub cannot reach (maker notes, compressed XMP): re-encode, keeping no metadata.
    const scrubbed = clean;
    clean = await withinBudget(() => sharp(scrubbed, { failOn: 'none', animated: true }).rotate().toBuffer());
    reencoded = true;
  }
  return { exif, read: true, clean, reencoded };
}
