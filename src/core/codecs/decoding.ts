// What decodes images beside sharp, and the memory they share: one set per app, made by the composition root and closed with it.
import { createBmpDecoder, type BmpDecoder } from './bmp/bmp-decoder.js';
import { createDecodeBudget, type DecodeBudget } from './decode-budget.js';
import { createHeicDecoder, type HeicDecoder } from './heic/heic-decoder.js';
import { createSvgSanitizer, type SvgSanitizer } from './svg/svg-thread.js';

export interface DecodingSettings {
  readonly memoryBytes: number;
  readonly waitMs: number;
  readonly queue: number;
  readonly threads: number;
  readonly timeoutMs: number;
}

export interface Decoding {
  readonly budget: DecodeBudget;
  readonly heic: HeicDecoder;
  readonly bmp: BmpDecoder;
  readonly svg: SvgSanitizer;
  close(): Promise<void>;
}

export function createDecoding(settings: DecodingSettings): Decoding {
  const budget = createDecodeBudget({ bytes: settings.memoryBytes, maxWaitMs: settings.waitMs, maxWaiting: settings.queue });
  const heic = createHeicDecoder({ threads: settings.threads, queue: settings.queue, timeoutMs: settings.timeoutMs, budget });
  const bmp = createBmpDecoder({ threads: settings.threads, queue: settings.queue, timeoutMs: settings.timeoutMs });
  const svg = createSvgSanitizer({ threads: settings.threads, queue: settings.queue });
  return {
    budget,
    heic,
    bmp,
    svg,
    async close() {
      await Promise.all([heic.close(), bmp.close(), svg.close()]);
    },
  };
}
