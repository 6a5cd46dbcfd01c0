// The worker thread that sanitizes SVG: the server-side DOM is synchronous and slow, and would stall the server.
import { parentPort } from 'node:worker_threads';
import { isImgdError } from './errors.js';
import { sanitizeSvg } from './svg.js';

interface Job {
  readonly id: number;
  readonly bytes: Uint8Array;
}

parentPort?.on('message', (job: Job) => {
  try {
    const text = sanitizeSvg(Buffer.from(job.bytes.buffer, job.bytes.byteOffset, job.bytes.byteLength));
    parentPort?.postMessage({ id: job.id, text });
  } catch (err) {
    const code = isImgdError(err) ? err.code : 'corrupt_image';
    const extra = isImgdError(err) ? err.extra : {};
    parentPort?.postMessage({ id: job.id, error: { code, message: (err as Error).message, extra } });
  }
});

// Loaded (and the DOM built once): from here on, time spent is the file's.
sanitizeSvg('<svg xmlns="http://www.w3.org/2000/svg"/>');
parentPort?.postMessage({ ready: true });
