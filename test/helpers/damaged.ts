// Images that pass every structural check and fail only when their pixels are decoded (the processing job's last check).
import { crc32 } from 'node:zlib';
import sharp from 'sharp';

/** A PNG whose chunks are all whole and checksummed, but whose compressed pixels are garbage: only a decode can tell. */
export async function pngWithGarbledPixels(): Promise<Buffer> {
  const png = await sharp({ create: { width: 64, height: 48, channels: 3, background: '#3a7' } }).png().toBuffer();
  let at = 8;
  while (png.toString('latin1', at + 4, at + 8) !== 'IDAT') at += 12 + png.readUInt32BE(at);
  const length = png.readUInt32BE(at);
  const bad = Buffer.from(png);
  // The zlib header stays (2 bytes), the deflate stream after it does not.
  for (let i = at + 10; i < at + 8 + length - 4; i += 1) bad[i] = (i * 31 + 7) & 0xff;
  bad.writeUInt32BE(crc32(bad.subarray(at + 4, at + 8 + length)), at + 8 + length);
  return bad;
}
