// The worker thread that decodes HEIC: libheif's WebAssembly decode is synchronous and would stall the server.
import { parentPort } from 'node:worker_threads';
import { decodeHeic, type HeicLimits } from './heic.js';
import { isImgdError } from './errors.js';

interface Job {
  readonly id: number;
  readonly bytes: Uint8Array;
  readonly limits: HeicLimits;
}

parentPort?.on('message', (job: Job) => {
  decodeHeic(Buffer.from(job.bytes.buffer, job.bytes.byteOffset, job.bytes.byteLength), job.limits).then(
    ({ width, height, data }) => {
      // A fresh ArrayBuffer can be handed over without copying 48 MB.
      const pixels = new Uint8Array(data);
      parentPort?.postMessage({ id: job.id, width, height, data: pixels }, [pixels.buffer]);
    },
    (err: unknown) => {
      const code = isImgdError(err) ? err.code : 'corrupt_image';
      const extra = isImgdError(err) ? err.extra : {};
      parentPort?.postMessage({ id: job.id, error: { code, message: (err as Error).message, extra } });
    },
  );
});
