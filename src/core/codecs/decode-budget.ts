// The memory all image decodes may hold at once (uploads, jobs, variant requests): a first-come weighted semaphore of estimated bytes.
import type { ImageFormat } from '../formats.js';
import { ImgdError } from '../errors.js';

/** A request gives up after a bounded wait (503); a background job waits as long as it takes. */
export type Patience = 'request' | 'job';

export interface DecodeBudgetOptions {
  /** Bytes all decodes together may hold. */
  readonly bytes: number;
  /** How long a request waits for its share before it is answered 503. */
  readonly maxWaitMs: number;
  /** Requests that may wait at once; one more is answered 503 at once. */
  readonly maxWaiting: number;
}

export interface DecodeBudget {
  /** Runs work once `cost` bytes are free (a cost over the whole budget runs alone), and frees them when it settles. */
  run<T>(cost: number, patience: Patience, work: () => Promise<T>): Promise<T>;
  /**
   * Charges memory that is in use already and outlives a decode (a decoder thread's heap): at once, even past the
   * budget, so later decodes wait for it. The function returned gives it back (once).
   */
  hold(cost: number): () => void;
  readonly bytes: number;
  /** Bytes held by decodes running now. */
  inUse(): number;
  /** Decodes waiting for their share. */
  waiting(): number;
}

/**
 * Peak bytes a decode holds per pixel (width x height x frames), measured with sharp 0.35 (libvips operation cache
 * off, MALLOC_ARENA_MAX=2) on 12 MP images as the peak RSS over the process before one render, with headroom.
 * Baseline JPEG, PNG, WebP and TIFF stream line by line with shrink-on-load; a progressive JPEG holds every DCT
 * coefficient (3 bytes a pixel at 4:2:0, 6 at 4:4:4, measured 3.1-7.2 all told); interlaced PNG, GIF, AVIF and HEIC
 * hold whole frames (AVIF measured 20, HEIC 16-20 in libheif's WebAssembly); SVG is drawn whole at its output size.
 */
const BYTES_PER_PIXEL: Record<ImageFormat, number> = {
  jpeg: 2,
  png: 6,
  gif: 8,
  webp: 4,
  tiff: 4,
  avif: 24,
  heic: 24,
  // Decoded whole in JavaScript: the RGBA buffer, then the RGB copy handed to sharp.
  bmp: 8,
  svg: 4,
};
const PROGRESSIVE_JPEG_BYTES_PER_PIXEL = 10;
/** Every decode is charged at least this: buffers, encoders, the thread's own state. */
const MIN_COST = 1024 * 1024;

export interface DecodeShape {
  readonly format: ImageFormat;
  readonly width: number;
  readonly height: number;
  readonly frames?: number;
  /** A progressive JPEG (known from its header). */
  readonly progressive?: boolean;
}

/** The bytes a decode of this image is charged. */
export function decodeCost({ format, width, height, frames = 1, progressive = false }: DecodeShape): number {
  const perPixel = format === 'jpeg' && progressive ? PROGRESSIVE_JPEG_BYTES_PER_PIXEL : BYTES_PER_PIXEL[format];
  return Math.max(MIN_COST, Math.ceil(width * height * Math.max(1, frames) * perPixel));
}

/**
 * Sanitizing an SVG builds a DOM of it on a thread with a 512 MB heap: measured 33 MB for 10,000 elements in 225 KB,
 * 95 MB for a 1.9 MB path, so 16 MB plus 100 bytes a byte of the file, at most the thread's heap.
 */
export function sanitizeCost(bytes: number): number {
  return Math.min(512 * 1024 * 1024, 16 * 1024 * 1024 + 100 * bytes);
}

interface Waiter {
  readonly cost: number;
  readonly patience: Patience;
  readonly grant: () => void;
  timer?: NodeJS.Timeout;
}

const RETRY_AFTER_SECONDS = 2;

export function createDecodeBudget(options: DecodeBudgetOptions): DecodeBudget {
  const total = Math.max(1, options.bytes);
  let used = 0;
  const queue: Waiter[] = [];

  const busy = (why: string): ImgdError =>
    new ImgdError('unavailable', `The server is busy decoding other images (${why}); try again shortly.`, { retry_after: RETRY_AFTER_SECONDS });

  /** First come, first served: a large decode at the head is not overtaken forever by small ones behind it. */
  function admit(): void {
    while (queue.length > 0 && used + queue[0]!.cost <= total) {
      const next = queue.shift()!;
      clearTimeout(next.timer);
      used += next.cost;
      next.grant();
    }
  }

  function acquire(cost: number, patience: Patience): Promise<void> {
    if (queue.length === 0 && used + cost <= total) {
      used += cost;
      return Promise.resolve();
    }
    if (patience === 'request' && queue.filter((w) => w.patience === 'request').length >= options.maxWaiting) {
      return Promise.reject(busy('too many are waiting'));
    }
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = { cost, patience, grant: resolve };
      if (patience === 'request') {
        waiter.timer = setTimeout(() => {
          queue.splice(queue.indexOf(waiter), 1);
          reject(busy(`no memory for it within ${options.maxWaitMs / 1000} s`));
          // The head may have been this waiter: those behind it may fit now.
          admit();
        }, options.maxWaitMs);
        waiter.timer.unref();
      }
      queue.push(waiter);
    });
  }

  return {
    bytes: total,
    async run(cost, patience, work) {
      // A decode larger than the whole budget still runs, alone; the limits bound how large one can be.
      const charged = Math.min(total, Math.max(1, Math.ceil(cost)));
      await acquire(charged, patience);
      try {
        return await work();
      } finally {
        used -= charged;
        admit();
      }
    },
    hold(cost) {
      const charged = Math.max(0, Math.ceil(cost));
      used += charged;
      let held = true;
      return () => {
        if (!held) return;
        held = false;
        used -= charged;
        admit();
      };
    },
    inUse: () => used,
    waiting: () => queue.length,
  };
}
