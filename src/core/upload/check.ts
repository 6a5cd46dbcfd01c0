// The content checks of a received file, after the streaming pass: structure (or a decode), limits, SVG sanitizing,
// metadata (EXIF read, location scrubbed), the cuts of what is not the image, and the stored name.
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { decodeCost, sanitizeCost } from '../codecs/decode-budget.js';
import { ImgdError } from '../errors.js';
import { FORMATS, type ImageFormat } from '../formats.js';
import { readIngestMetadata } from '../metadata/location.js';
import { slugStem, storedName } from './naming.js';
import { checkLimits, checkProgressive, probeImage } from './probe.js';
import { stripBuffer, stripFile, stripPlan } from './strip.js';
import type { UploadRequest, UploadsDeps } from './upload-api.js';
import type { Received } from './received.js';

export /** A received file that passed every check: what it is, and the bytes to store. */
interface Checked {
  readonly format: ImageFormat;
  readonly width: number;
  readonly height: number;
  readonly frames: number;
  readonly hasAlpha: boolean;
  readonly sha256: string;
  readonly bytes: number;
  /** The bytes to store: in memory, or the staged file. */
  readonly content: Buffer | string;
  readonly exif: unknown;
  /** How long reading the EXIF took here, when it was read (the processing job then does not). */
  readonly exifMs: number | undefined;
  readonly firstName: string;
}

/** The content checks after the streaming pass: structure (or a decode), limits, SVG sanitizing, metadata, name. */
export async function checkReceived(deps: UploadsDeps, received: Received, request: UploadRequest): Promise<Checked> {
  const { limits } = deps;
  if (received.rejection) throw received.rejection;
  const format = received.format;
  if (!format) throw new ImgdError('unsupported_format', 'The file is not an image in a format this server accepts.');
  let content: Buffer | string = received.memory ?? received.stagedPath!;
  let sha256: string | undefined;
  let { bytes } = received;
  let dims: { width: number; height: number; frames: number; hasAlpha: boolean };
  let exif: unknown = null;
  let exifMs: number | undefined;
  if (format === 'svg') {
    // Stored sanitized, so its hash (and dedupe) are of the sanitized bytes; librsvg only ever sees those.
    const text = received.memory ?? (await readFile(received.stagedPath!));
    const clean = Buffer.from(await deps.decoding.budget.run(sanitizeCost(text.length), 'request', () => deps.decoding.svg.sanitize(text)), 'utf8');
    content = clean;
    bytes = clean.length;
    sha256 = createHash('sha256').update(clean).digest('hex');
    dims = await probeImage(clean, format, limits, deps.decoding);
  } else {
    const walked = received.structure;
    if (walked) {
      checkLimits(walked.width, walked.height, walked.frames, limits);
      if (format === 'jpeg' && walked.progressive) checkProgressive(walked.width, walked.height, limits);
      dims = walked;
    } else {
      // No walker for this format, or the walk found something odd: a decode decides, as libvips would later.
      dims = await probeImage(content, format, limits, deps.decoding);
    }
    const exifStarted = performance.now();
    const metadata = await readIngestMetadata(
      { head: received.head, whole: received.memory !== undefined, file: received.stagedPath, metadata: received.structure?.metadata },
      format,
      deps.stripLocation,
      // A location the in-place scrub cannot reach means decoding the whole image to encode it again.
      (work) => deps.decoding.budget.run(decodeCost({ format, ...dims, progressive: received.structure?.progressive }) * 2, 'request', work),
    );
    exif = metadata.exif;
    if (metadata.read) exifMs = performance.now() - exifStarted;
    if (metadata.clean) content = metadata.clean;
    // The location scrub keeps every offset, so the walk's plan still holds for its bytes; a re-encode has no extras.
    const plan = deps.stripExtras && walked && !metadata.reencoded ? stripPlan(format, walked, received.bytes) : undefined;
    if (plan && typeof content === 'string') {
      ({ bytes, sha256 } = await stripFile(content, plan));
    } else if (plan || metadata.clean) {
      const kept: Buffer = plan ? stripBuffer(content as Buffer, plan) : (content as Buffer);
      content = kept;
      bytes = kept.length;
      sha256 = createHash('sha256').update(kept).digest('hex');
    }
  }
  const extension = FORMATS[format].extension;
  const firstName = request.name ? request.name({ originalName: received.originalName, format, extension }, 0) : storedName(slugStem(received.originalName ?? undefined), extension);
  return { format, ...pick(dims), sha256: sha256 ?? received.sha256(), bytes, content, exif, exifMs, firstName };
}

function pick(dims: { width: number; height: number; frames: number; hasAlpha: boolean }) {
  return { width: dims.width, height: dims.height, frames: dims.frames, hasAlpha: dims.hasAlpha };
}
