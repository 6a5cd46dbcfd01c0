// A HEIC decode pool's thread: libheif's WebAssembly decode is synchronous and would stall the server.
import { decodeHeic, type HeicLimits } from './heic.js';
import { poolTask } from '../decode-task.js';

export interface HeicTask {
  readonly bytes: Uint8Array;
  readonly limits: HeicLimits;
}

export interface HeicPixels {
  readonly width: number;
  readonly height: number;
  readonly data: Uint8Array;
}

export default poolTask<HeicTask, HeicPixels>(async ({ bytes, limits }) => {
  const { width, height, data } = await decodeHeic(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), limits);
  // A fresh ArrayBuffer can be handed over without copying 48 MB.
  const pixels = new Uint8Array(data);
  return { value: { width, height, data: pixels }, transfer: [pixels.buffer] };
});
