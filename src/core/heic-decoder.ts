// HEIC decoding off the event loop, on a bounded pool of threads the app owns.
import type { Sharp } from 'sharp';
import { createDecodePool, type DecodePool } from './decode-pool.js';
import { ImgdError } from './errors.js';
import { pipelineFromRgba, type DecodedHeic, type HeicLimits } from './heic.js';
import type { HeicPixels, HeicTask } from './heic-worker.js';

export interface HeicDecoderOptions {
  readonly threads: number;
  readonly queue: number;
  readonly timeoutMs: number;
}

export interface HeicDecoder {
  /** The primary image as RGBA; 503 `unavailable` when the queue is full, 422 `decode_timeout` over the time budget. */
  decode(bytes: Buffer, limits: HeicLimits): Promise<DecodedHeic>;
  /** A sharp pipeline over the decoded pixels. */
  pipeline(bytes: Buffer, limits: HeicLimits): Promise<Sharp>;
  close(): Promise<void>;
}

export function createHeicDecoder(options: HeicDecoderOptions): HeicDecoder {
  const pool: DecodePool<HeicTask, HeicPixels> = createDecodePool({
    name: 'HEIC decoder',
    module: 'heic-worker',
    ...options,
    overTime: (ms) => new ImgdError('decode_timeout', `The HEIC image was not decoded within ${ms / 1000} s.`, { limit_ms: ms }),
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
