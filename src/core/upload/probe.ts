// Looks inside a staged file with sharp: header facts first (cheap), then a real decode.
import sharp, { type Metadata } from 'sharp';
import type { ImageFormat } from '../formats.js';
import { readFile } from 'node:fs/promises';
import type { BmpDecoder } from '../codecs/bmp/bmp-decoder.js';
import { bmpSize } from '../codecs/bmp/bmp.js';
import { decodeCost, type DecodeBudget } from '../codecs/decode-budget.js';
import { codecReason, ImgdError } from '../errors.js';
import type { HeicDecoder } from '../codecs/heic/heic-decoder.js';
import { heicSize } from '../codecs/heic/heic.js';

export interface ProbeLimits {
  readonly pixels: number;
  readonly dimension: number;
  readonly frames: number;
  /** Progressive JPEGs hold every coefficient in memory while decoding: they get a lower pixel bound. */
  readonly progressivePixels?: number;
}

/** What a full decode at upload needs: the memory budget it waits for (as a request), and the HEIC threads. */
export interface ProbeDecoding {
  readonly budget: DecodeBudget;
  readonly heic: HeicDecoder;
  readonly bmp: BmpDecoder;
}

export interface ProbeResult {
  readonly format: ImageFormat;
  readonly width: number;
  readonly height: number;
  readonly frames: number;
  readonly hasAlpha: boolean;
}

/** sharp names AVIF "heif" (with AV1 compression); everything else by its own name. */
function sharpFormat(meta: Metadata): ImageFormat | undefined {
  switch (meta.format) {
    case 'jpeg':
    case 'png':
    case 'gif':
    case 'webp':
    case 'tiff':
    case 'svg':
      return meta.format;
    case 'heif':
      return meta.compression === 'av1' ? 'avif' : undefined;
    default:
      return undefined;
  }
}

/** Refuses frame counts, sides and pixel counts over the limits. */
export function checkLimits(width: number, height: number, frames: number, limits: ProbeLimits): void {
  if (frames > limits.frames) {
    throw new ImgdError('too_many_frames', `The image has ${frames} frames; at most ${limits.frames} are accepted.`, {
      frames,
      limit: limits.frames,
    });
  }
  if (width > limits.dimension || height > limits.dimension) {
    throw new ImgdError('image_too_large', `The image is ${width}x${height}; each side may be at most ${limits.dimension} pixels.`, {
      width,
      height,
      limit: limits.dimension,
    });
  }
  if (width * height * frames > limits.pixels) {
    throw new ImgdError('image_too_large', `The image has ${width * height * frames} pixels; at most ${limits.pixels} are accepted.`, {
      width,
      height,
      frames,
      limit: limits.pixels,
    });
  }
}

/** Progressive JPEGs hold every coefficient in memory while decoding: they get a lower pixel bound. */
export function checkProgressive(width: number, height: number, limits: ProbeLimits): void {
  if (limits.progressivePixels !== undefined && width * height > limits.progressivePixels) {
    throw new ImgdError('image_too_large', `The image is a progressive JPEG of ${width * height} pixels; progressive JPEGs may have at most ${limits.progressivePixels}.`, {
      width,
      height,
      limit: limits.progressivePixels,
    });
  }
}

/** Refuses declared sizes over the limits before anything is decoded. */
export function checkDeclaredSize(width: number, height: number, limits: ProbeLimits): void {
  checkLimits(width, height, 1, limits);
}

/** sharp reads a HEIC header but cannot decode HEVC: the size comes from the boxes, the decode from libheif. */
async function probeHeic(input: string | Buffer, limits: ProbeLimits, decoding: ProbeDecoding): Promise<ProbeResult> {
  const bytes = typeof input === 'string' ? await readFile(input) : input;
  const size = heicSize(bytes);
  if (!size) throw new ImgdError('corrupt_image', 'The file starts like HEIC but its structure cannot be read.');
  checkLimits(size.width, size.height, 1, limits);
  const cost = decodeCost({ format: 'heic', ...size });
  const decoded = await decoding.budget.run(cost, 'request', () => decoding.heic.decode(bytes, { pixels: limits.pixels }));
  return { format: 'heic', width: decoded.width, height: decoded.height, frames: 1, hasAlpha: false };
}

/** sharp has no BMP loader: the size comes from the header, the check from a full decode. */
async function probeBmp(input: string | Buffer, limits: ProbeLimits, decoding: ProbeDecoding): Promise<ProbeResult> {
  const bytes = typeof input === 'string' ? await readFile(input) : input;
  const size = bmpSize(bytes);
  if (!size) throw new ImgdError('corrupt_image', 'The file starts like BMP but its header cannot be read.');
  checkLimits(size.width, size.height, 1, limits);
  const decoded = await decoding.budget.run(decodeCost({ format: 'bmp', ...size }), 'request', () => decoding.bmp.decode(bytes));
  return { format: 'bmp', width: decoded.width, height: decoded.height, frames: 1, hasAlpha: decoded.channels === 4 };
}

/** `input` is the staged file, or all of its bytes when they are in memory already. */
export async function probeImage(input: string | Buffer, expected: ImageFormat, limits: ProbeLimits, decoding: ProbeDecoding): Promise<ProbeResult> {
  if (expected === 'heic') return probeHeic(input, limits, decoding);
  if (expected === 'bmp') return probeBmp(input, limits, decoding);
  let meta: Metadata;
  try {
    meta = await sharp(input, { limitInputPixels: false }).metadata();
  } catch (err) {
    throw new ImgdError('corrupt_image', `The ${expected.toUpperCase()} header cannot be read: ${codecReason(err)}.`);
  }
  const format = sharpFormat(meta);
  const width = meta.width;
  const height = meta.pageHeight ?? meta.height;
  if (format !== expected || !width || !height) {
    throw new ImgdError('corrupt_image', `The file starts like ${expected.toUpperCase()} but is not a readable one.`);
  }
  const frames = Math.max(1, meta.pages ?? 1);
  checkLimits(width, height, frames, limits);
  if (format === 'jpeg' && meta.isProgressive) checkProgressive(width, height, limits);
  // Decoding at a small size still reads every byte of every frame; shrink-on-load keeps it cheap (not for all formats).
  const cost = decodeCost({ format, width, height, frames, progressive: Boolean(meta.isProgressive) });
  await decoding.budget.run(cost, 'request', async () => {
    try {
      await sharp(input, { limitInputPixels: limits.pixels, failOn: 'error', pages: frames > 1 ? -1 : 1, sequentialRead: true })
        .resize(64, 64, { fit: 'inside' })
        .raw()
        .toBuffer();
    } catch (err) {
      throw new ImgdError('corrupt_image', `The image cannot be decoded: ${codecReason(err)}.`);
    }
  });
  return { format, width, height, frames, hasAlpha: Boolean(meta.hasAlpha) };
}
