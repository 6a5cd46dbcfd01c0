// Large PNGs and WebPs (more than ingest's 512 KB head) with a GPS location in an EXIF chunk after the pixel data.
import { randomBytes } from 'node:crypto';
import sharp, { type Sharp } from 'sharp';

export const PARIS = { latitude: 48.85666666666667, longitude: 2.35 };

const GPS_EXIF = {
  IFD0: { Make: 'imgd-test' },
  IFD3: { GPSLatitudeRef: 'N', GPSLatitude: '48/1 51/1 2400/100', GPSLongitudeRef: 'E', GPSLongitude: '2/1 21/1 0/1' },
};

/** Noise does not compress: width x height x 3 bytes of pixels, whatever the encoder. */
const noise = (width: number, height: number): Sharp =>
  sharp(randomBytes(width * height * 3), { raw: { width, height, channels: 3 } });

interface Chunk {
  readonly type: string;
  readonly bytes: Buffer;
}

function pngChunks(png: Buffer): Chunk[] {
  const chunks: Chunk[] = [];
  for (let at = 8; at < png.length; ) {
    const size = png.readUInt32BE(at);
    chunks.push({ type: png.toString('latin1', at + 4, at + 8), bytes: png.subarray(at, at + 12 + size) });
    at += 12 + size;
  }
  return chunks;
}

/** A PNG whose eXIf chunk (with a location unless `located` is false) comes after every IDAT, just before IEND. */
export async function largePng(located = true, width = 600, height = 400): Promise<Buffer> {
  const png = await (located ? noise(width, height).png().withExif(GPS_EXIF) : noise(width, height).png()).toBuffer();
  const chunks = pngChunks(png);
  const exif = chunks.filter((c) => c.type === 'eXIf');
  const rest = chunks.filter((c) => c.type !== 'eXIf' && c.type !== 'IEND');
  const end = chunks.filter((c) => c.type === 'IEND');
  return Buffer.concat([png.subarray(0, 8), ...[...rest, ...exif, ...end].map((c) => c.bytes)]);
}

/** A lossless WebP with its location in the EXIF chunk libwebp writes after the image data. */
export async function largeWebp(width = 600, height = 400): Promise<Buffer> {
  return noise(width, height).webp({ lossless: true }).withExif(GPS_EXIF).toBuffer();
}
