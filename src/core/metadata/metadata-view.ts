// A PNG or WebP without its pixel data: every other chunk (EXIF, XMP, text, sizes) as it is in the file, gathered in
// one streaming pass, so a large upload's metadata is read without holding the whole file in memory.
import { createReadStream } from 'node:fs';
import type { ImageFormat } from '../formats.js';

interface ChunkLayout {
  /** Bytes before the first chunk (signature, RIFF header), kept. */
  readonly start: number;
  /** Bytes of a chunk after its 8-byte header and `size` data bytes. */
  readonly trailer: (size: number) => number;
  readonly size: (header: Buffer) => number;
  /** Chunks of pixel data, left out. */
  readonly pixels: ReadonlySet<string>;
  /** The chunk after which nothing is read. */
  readonly last?: string;
}

const LAYOUTS: Partial<Record<ImageFormat, ChunkLayout>> = {
  png: { start: 8, trailer: () => 4, size: (h) => h.readUInt32BE(0), pixels: new Set(['IDAT', 'fdAT']), last: 'IEND' },
  webp: { start: 12, trailer: (size) => size & 1, size: (h) => h.readUInt32LE(4), pixels: new Set(['VP8 ', 'VP8L', 'ALPH', 'ANMF']) },
};

const typeOf = (format: ImageFormat, header: Buffer): string => header.toString('latin1', format === 'png' ? 4 : 0, format === 'png' ? 8 : 4);

/** Whether metadataView can leave out the pixels of this format. */
export const hasMetadataView = (format: ImageFormat | undefined): boolean => format !== undefined && LAYOUTS[format] !== undefined;

/**
 * The file with its pixel chunks left out, or undefined when it holds more than `maxBytes` of other chunks (the
 * caller then reads it whole). A malformed chunk size ends the walk: what was gathered so far is returned.
 */
export async function metadataView(file: string, format: ImageFormat, maxBytes = 4 * 1024 * 1024): Promise<Buffer | undefined> {
  const layout = LAYOUTS[format];
  if (!layout) throw new Error(`no metadata view for ${format}`);
  const kept: Buffer[] = [];
  let keptBytes = 0;
  /** Bytes still to keep (positive) or to skip (negative) of the current chunk. */
  let remaining = layout.start;
  let header = Buffer.alloc(0);
  let ending = false;
  let done = false;

  const keep = (bytes: Buffer): void => {
    kept.push(Buffer.from(bytes));
    keptBytes += bytes.length;
  };

  const stream = createReadStream(file, { highWaterMark: 1024 * 1024 });
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      let at = 0;
      while (at < chunk.length && !done) {
        if (remaining > 0) {
          const take = Math.min(remaining, chunk.length - at);
          keep(chunk.subarray(at, at + take));
          remaining -= take;
          at += take;
        } else if (remaining < 0) {
          const skip = Math.min(-remaining, chunk.length - at);
          remaining += skip;
          at += skip;
        } else {
          const need = 8 - header.length;
          header = Buffer.concat([header, chunk.subarray(at, at + need)]);
          at += Math.min(need, chunk.length - at);
          if (header.length < 8) continue;
          const size = layout.size(header);
          const type = typeOf(format, header);
          const body = size + layout.trailer(size);
          if (layout.pixels.has(type)) {
            remaining = -body;
          } else {
            keep(header);
            remaining = body;
          }
          header = Buffer.alloc(0);
          if (type === layout.last) ending = true;
          if (keptBytes + Math.max(0, remaining) > maxBytes) return undefined;
        }
        if (ending && remaining === 0) done = true;
      }
      if (done) break;
    }
  } finally {
    stream.destroy();
  }
  return Buffer.concat(kept);
}
