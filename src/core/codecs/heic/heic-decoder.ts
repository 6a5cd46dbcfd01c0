// HEIC decoding off the event loop, on a bounded pool of threads the app owns.
import type { Sharp } from 'sharp';
import type { DecodeBudget } from '../decode-budget.js';
import { createDecodePool, type DecodePool } from '../decode-pool.js';
import { ImgdError } from '../../errors.js';
import { pipelineFromRgba, type DecodedHeic, type HeicLimits } from './heic.js';
import type { HeicPixels, HeicTask } from './heic-worker.js';

export interface HeicDecoderOptions {
  readonly threads: number;
  readonly queue: number;
  readonly timeoutMs: number;
  /** Charged for the WebAssembly memory the threads keep between decodes (the decodes themselves are their callers'). */
  readonly budget: DecodeBudget;
}

/** libheif's WebAssembly memory after decoding a pixel: it grows to the largest image decoded, and never shrinks (measured 12-16). */
const HEAP_BYTES_PER_PIXEL = 16;
/** The threads' JavaScript heap: libheif's memory is WebAssembly's, outside it, so this only stops a runaway. */
const WORKER_HEAP_MB = 256;

export interface HeicDecoder {
  /** The primary image as RGBA; 503 `unavailable` when the queue is full, 422 `decode_timeout` over the time budget. */
  decode(bytes: Buffer, limits: HeicLimits): Promise<DecodedHeic>;
  /** A sharp pipeline over the decoded pixels. */
  pipeline(bytes: Buffer, limits: HeicLimits): Promise<Sharp>;
  close(): Promise<void>;
}

export function createHeicDecoder(options: HeicDecoderOptions): HeicDecoder {
  const { budget, ...sizes } = options;
  const pool: DecodePool<HeicTask, HeicPixels> = createDecodePool({
    name: 'HEIC decoder',
    module: 'heic/heic-worker',
    ...sizes,
    resourceLimits: { maxOldGenerationSizeMb: WORKER_HEAP_MB },
    overTime: (ms) => new ImgdError('decode_timeout', `The HEIC image was not decoded within ${ms / 1000} s.`, { limit_ms: ms }),
    kept: { after: ({ width, height }) => width * height * HEAP_BYTES_PER_PIXEL, hold: (bytes) => budget.hold(bytes), wanted: () => budget.waiting() > 0 },
  });
  const decode = async (bytes: Buffer, limits: HeicLimits): Promise<DecodedHeic> => {
    const { width, height, data } = await pool.run({ bytes, limits: { pixels: limits.pixels } });
    return { width, height, data: Buffer.from(data.buffer, data.byteOffset, data.byteLength) };
  };
  return {
    decode,
    pipeline: async (bytes, limits) => pipelineFromRgba(await decode(bytes, limits)),
    close: () => pool.close(),
  };
}
