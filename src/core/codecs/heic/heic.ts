// HEIC/HEIF phone photos (HEVC in ISO-BMFF): sharp's libvips cannot decode them, so heic-decode turns them into raw pixels for sharp.
import { createRequire } from 'node:module';
import sharp, { type Sharp } from 'sharp';
import { ImgdError } from '../../errors.js';
import { heicSize, isCutOff, type HeicSize } from './heic-container.js';

export { heicSize, isHeic, type HeicSize } from './heic-container.js';

export interface HeicLimits {
  readonly pixels: number;
}

export interface DecodedHeic extends HeicSize {
  /** RGBA, 4 bytes a pixel, rows top to bottom, already turned by the file's irot/imir. */
  readonly data: Buffer;
}

interface LibraryImage {
  readonly width: number;
  readonly height: number;
  decode(): Promise<{ width: number; height: number; data: Uint8ClampedArray }>;
}
type LibraryImages = LibraryImage[] & { dispose(): void };
interface HeicDecode {
  all(input: { buffer: Uint8Array }): Promise<LibraryImages>;
}

const load = createRequire(import.meta.url);

/**
 * Loaded on first use (require keeps it for the thread): instantiating the WebAssembly takes ~150 ms and memory that a
 * server without HEIC uploads never needs.
 */
const heicDecode = (): HeicDecode => load('heic-decode') as HeicDecode;

/** Parses the container only; the sizes are known before any pixel is decoded. */
async function openImages(bytes: Buffer): Promise<LibraryImages> {
  const decoder = heicDecode();
  try {
    return await decoder.all({ buffer: bytes });
  } catch (err) {
    throw new ImgdError('corrupt_image', `The HEIC file cannot be read: ${(err as Error).message}`);
  }
}

/**
 * heic-decode lists the top-level images in file order without saying which is primary; a phone photo has one,
 * and otherwise the one of the primary's size is it.
 */
function primaryOf(images: LibraryImages, declared: HeicSize | undefined): LibraryImage {
  const primary =
    images.length === 1 ? images[0] : (images.find((i) => i.width === declared?.width && i.height === declared.height) ?? images[0]);
  if (!primary) throw new ImgdError('corrupt_image', 'The HEIC file holds no image.');
  return primary;
}

function refuseOverLimit({ width, height }: HeicSize, limits: HeicLimits): void {
  if (width * height > limits.pixels) {
    throw new ImgdError('image_too_large', `The image has ${width * height} pixels; at most ${limits.pixels} are accepted.`, {
      width,
      height,
      limit: limits.pixels,
    });
  }
}

async function decodePixels(image: LibraryImage): Promise<DecodedHeic> {
  let decoded: Awaited<ReturnType<LibraryImage['decode']>>;
  try {
    decoded = await image.decode();
  } catch (err) {
    throw new ImgdError('corrupt_image', `The HEIC image cannot be decoded: ${(err as Error).message}`);
  }
  const { width, height, data } = decoded;
  if (data.length !== width * height * 4) {
    throw new ImgdError('corrupt_image', `The HEIC image decoded to ${data.length} bytes, not ${width}x${height} RGBA.`);
  }
  return { width, height, data: Buffer.from(data.buffer, data.byteOffset, data.byteLength) };
}

/**
 * Decodes the primary image to RGBA (12 MP is 48 MB, plus libheif's own copy in its WebAssembly heap, which never
 * shrinks). The decode itself is synchronous WebAssembly and blocks the event loop for its duration.
 */
export async function decodeHeic(bytes: Buffer, limits: HeicLimits): Promise<DecodedHeic> {
  const images = await openImages(bytes);
  try {
    const image = primaryOf(images, heicSize(bytes));
    // heic-decode allocates width*height*4 bytes before decoding, so the limit must hold before decode() is called.
    refuseOverLimit(image, limits);
    // libheif paints the missing tiles of a cut-off grid image grey instead of failing, so completeness is checked here.
    if (isCutOff(bytes)) throw new ImgdError('corrupt_image', 'The HEIC file ends before its image data does.');
    return await decodePixels(image);
  } finally {
    images.dispose();
  }
}

function isOpaque(rgba: Buffer): boolean {
  for (let i = 3; i < rgba.length; i += 4) if (rgba[i] !== 255) return false;
  return true;
}

/**
 * A sharp pipeline over decoded pixels, so resizing and encoding are the same as for every other format.
 * It carries no EXIF: libheif has already applied irot/imir, and a later rotate() finds nothing to turn.
 */
export function pipelineFromRgba({ width, height, data }: DecodedHeic): Sharp {
  // The decode has held the image to limits.pixels; sharp's own default limit would be a second, different one.
  const image = sharp(data, { raw: { width, height, channels: 4 }, limitInputPixels: false });
  // Phone photos are opaque; a channel of 255s would give PNG and WebP variants an alpha they do not need.
  return isOpaque(data) ? image.removeAlpha() : image;
}

export async function heicToSharp(bytes: Buffer, limits: HeicLimits): Promise<Sharp> {
  return pipelineFromRgba(await decodeHeic(bytes, limits));
}
