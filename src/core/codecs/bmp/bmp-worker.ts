// A BMP decode pool's thread: the decode is plain JavaScript over every pixel and would stall the server.
import { decodeBmp } from './bmp.js';
import { poolTask } from '../decode-task.js';

export interface BmpPixels {
  readonly width: number;
  readonly height: number;
  readonly channels: 3 | 4;
  readonly data: Uint8Array;
}

export default poolTask<Uint8Array, BmpPixels>((bytes) => {
  const { width, height, channels, data } = decodeBmp(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  // Pixels that own their ArrayBuffer are handed over without a copy; a small one may sit in Node's shared pool.
  const owned = data.byteOffset === 0 && data.byteLength === data.buffer.byteLength;
  const pixels = owned ? new Uint8Array(data.buffer as ArrayBuffer) : new Uint8Array(data);
  return { value: { width, height, channels, data: pixels }, transfer: [pixels.buffer] };
});
