// BMP decoding off the event loop, on a bounded pool of threads the app owns (a 16 MP bitmap takes about 300 ms).
import sharp, { type Sharp } from 'sharp';
import type { BmpPixels } from './bmp-worker.js';
import type { DecodedBmp } from './bmp.js';
import { createDecodePool } from '../decode-pool.js';
import { ImgdError } from '../../errors.js';

/** The threads' JavaScript heap: the pixels are Buffers, outside it, so this only stops a runaway. */
const WORKER_HEAP_MB = 256;

export interface BmpDecoderOptions {
  readonly threads: number;
  readonly queue: number;
  readonly timeoutMs: number;
}

export interface BmpDecoder {
  /** RGB or RGBA pixels; 503 `unavailable` when the queue is full, 422 `decode_timeout` over the time budget. */
  decode(bytes: Buffer): Promise<DecodedBmp>;
  /** A sharp pipeline over the decoded pixels. */
  pipeline(bytes: Buffer): Promise<Sharp>;
  close(): Promise<void>;
}

export function createBmpDecoder(options: BmpDecoderOptions): BmpDecoder {
  const pool = createDecodePool<Uint8Array, BmpPixels>({
    name: 'BMP decoder',
    module: 'bmp/bmp-worker',
    ...options,
    resourceLimits: { maxOldGenerationSizeMb: WORKER_HEAP_MB },
    overTime: (ms) => new ImgdError('decode_timeout', `The BMP image was not decoded within ${ms / 1000} s.`, { limit_ms: ms }),
  });
  const decode = async (bytes: Buffer): Promise<DecodedBmp> => {
    const { width, height, channels, data } = await pool.run(bytes);
    return { width, height, channels, data: Buffer.from(data.buffer, data.byteOffset, data.byteLength) };
  };
  return {
    decode,
    async pipeline(bytes) {
      const { width, height, channels, data } = await decode(bytes);
      return sharp(data, { raw: { width, height, channels } });
    },
    close: () => pool.close(),
  };
}
