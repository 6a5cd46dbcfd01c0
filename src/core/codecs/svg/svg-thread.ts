// SVG sanitizing off the event loop, on a bounded pool of threads the app owns, each file with a time and memory budget.
import { createDecodePool } from '../decode-pool.js';
import { ImgdError } from '../../errors.js';

/** Sanitizing builds a DOM many times the file's size, so SVGs get a smaller size limit than raster images. */
export const SVG_MAX_BYTES = 2 * 1024 * 1024;
/** Past this, a file is refused and its thread replaced (the element and depth limits make it rare). */
export const SVG_SANITIZE_TIMEOUT_MS = 15_000;
const WORKER_HEAP_MB = 512;

export interface SvgSanitizerOptions {
  readonly threads: number;
  readonly queue: number;
  readonly timeoutMs?: number;
}

export interface SvgSanitizer {
  /** The sanitized SVG document; 503 `unavailable` when the queue is full, 422 `svg_too_complex` over the time budget. */
  sanitize(bytes: Buffer, timeoutMs?: number): Promise<string>;
  close(): Promise<void>;
}

export function createSvgSanitizer(options: SvgSanitizerOptions): SvgSanitizer {
  const pool = createDecodePool<Uint8Array, string>({
    name: 'SVG sanitizer',
    module: 'svg/svg-worker',
    threads: options.threads,
    queue: options.queue,
    timeoutMs: options.timeoutMs ?? SVG_SANITIZE_TIMEOUT_MS,
    resourceLimits: { maxOldGenerationSizeMb: WORKER_HEAP_MB },
    overTime: (ms) => new ImgdError('svg_too_complex', `The SVG took longer than ${ms / 1000} s to sanitize.`),
    crashed: (why) => new ImgdError('svg_too_complex', `The SVG could not be sanitized: ${why}.`),
  });
  return {
    sanitize: (bytes, timeoutMs) => pool.run(bytes, timeoutMs),
    close: () => pool.close(),
  };
}
