// Seed 001's thumbnails: the image fitted inside 256 or 768 px as Pillow's thumbnail() does, RGB JPEG at quality 85.
import { LRUCache } from 'lru-cache';
import sharp from 'sharp';
import { decodeCost, type DecodeBudget } from '../../core/codecs/decode-budget.js';
import { isImgdError } from '../../core/errors.js';
import type { ImageRecord } from '../../core/images/image.js';
import { readBlob, type BlobStore } from '../../core/storage/blob-store.js';
import { originalKey } from '../../core/storage/blob-keys.js';

export const THUMBNAIL_SIZES = { small: 256, medium: 768 } as const;
export type ThumbnailSize = keyof typeof THUMBNAIL_SIZES;

export const isThumbnailSize = (size: string): size is ThumbnailSize => Object.hasOwn(THUMBNAIL_SIZES, size);

/**
 * Pillow's Image.thumbnail((box, box)): never enlarged; the long side becomes `box`, the other is the floor or the
 * ceiling of its exact value, whichever keeps the aspect ratio closer (1000x800 in 256 gives 256x205).
 */
export function thumbnailSize(width: number, height: number, box: number): { width: number; height: number } {
  if (box >= width && box >= height) return { width, height };
  const aspect = width / height;
  const roundAspect = (value: number, distance: (n: number) => number): number => {
    const [low, high] = [Math.floor(value), Math.ceil(value)];
    return Math.max(distance(high) < distance(low) ? high : low, 1);
  };
  if (box / box >= aspect) return { width: roundAspect(box * aspect, (n) => Math.abs(aspect - n / box)), height: box };
  return { width: box, height: roundAspect(box / aspect, (n) => (n === 0 ? 0 : Math.abs(aspect - box / n))) };
}

/** Thumbnails made lately, by sha256 and size: images sharing bytes share them. */
const MAX_CACHED = 64;

export interface Thumbnails {
  /** The JPEG bytes, or undefined when this image cannot be made into one (yet). */
  get(image: ImageRecord, size: ThumbnailSize): Promise<Buffer | undefined>;
}

export function createThumbnails(store: BlobStore, pixelLimit: number, budget: DecodeBudget): Thumbnails {
  const cache = new LRUCache<string, Buffer>({ max: MAX_CACHED });
  return {
    async get(image, size) {
      const key = `${image.sha256}_${size}`;
      const cached = cache.get(key);
      if (cached) return cached;
      const box = THUMBNAIL_SIZES[size];
      const target = thumbnailSize(image.width, image.height, box);
      let bytes: Buffer;
      try {
        const original = await readBlob(store, originalKey(image.sha256));
        const progressive = image.format === 'jpeg' && Boolean((await sharp(original).metadata()).isProgressive);
        const cost = decodeCost({ format: image.format, width: image.width, height: image.height, frames: image.frames, progressive });
        bytes = await budget.run(cost, 'request', () =>
          sharp(original, { limitInputPixels: pixelLimit })
            .resize(target.width, target.height, { fit: 'fill' })
            .removeAlpha()
            .toColourspace('srgb')
            .jpeg({ quality: 85 })
            .toBuffer(),
        );
      } catch (err) {
        // Busy decoding other images: try again shortly (503), not "no thumbnail".
        if (isImgdError(err) && err.code === 'unavailable') throw err;
        // A format sharp cannot decode here (HEIC without its decoder), or bytes missing from the store.
        return undefined;
      }
      cache.set(key, bytes);
      return bytes;
    },
  };
}
