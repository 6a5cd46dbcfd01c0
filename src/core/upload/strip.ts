// Stored originals are only the image: comments, segments and chunks the format does not need, and bytes after the
// image's end marker (where polyglots hide HTML, scripts and archives) are cut out without touching a pixel.
import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';
import type { ImageFormat } from '../formats.js';
import type { StructureFacts } from './structure/walk.js';

/** What to keep: ranges of the original in order, and bytes to overwrite in the result (a container's size field). */
export interface StripPlan {
  readonly keep: ReadonlyArray<readonly [number, number]>;
  readonly length: number;
  readonly patch?: { readonly at: number; readonly bytes: Buffer } | undefined;
}

export interface Stripped {
  readonly bytes: number;
  readonly sha256: string;
}

/** The WebP RIFF header: its size field counts what follows it. */
const RIFF_HEADER = 12;
const COPY_CHUNK = 256 * 1024;

/** The plan for an upload of `total` bytes the walk found well formed; undefined when it is only the image already. */
export function stripPlan(format: ImageFormat, facts: StructureFacts, total: number): StripPlan | undefined {
  if (facts.extras.length === 0 && facts.end >= total) return undefined;
  const keep: Array<readonly [number, number]> = [];
  let at = 0;
  for (const [start, end] of facts.extras) {
    if (start > at) keep.push([at, start]);
    at = end;
  }
  if (facts.end > at) keep.push([at, facts.end]);
  const length = keep.reduce((sum, [start, end]) => sum + end - start, 0);
  let patch: StripPlan['patch'];
  if (format === 'webp') {
    const size = Buffer.alloc(4);
    size.writeUInt32LE(length - 8);
    patch = { at: 4, bytes: size };
  }
  // The walk never drops a file's header, so the patch always lands in the first range.
  if (patch && (keep[0]?.[0] !== 0 || keep[0][1] < RIFF_HEADER)) throw new Error('strip plan: the container header is not kept');
  return { keep, length, patch };
}

function patched(chunk: Buffer, outAt: number, plan: StripPlan): Buffer {
  const patch = plan.patch;
  if (!patch || patch.at < outAt || patch.at + patch.bytes.length > outAt + chunk.length) return chunk;
  const copy = Buffer.from(chunk);
  patch.bytes.copy(copy, patch.at - outAt);
  return copy;
}

export function stripBuffer(bytes: Buffer, plan: StripPlan): Buffer {
  const out = Buffer.concat(
    plan.keep.map(([start, end]) => bytes.subarray(start, end)),
    plan.length,
  );
  if (plan.patch) plan.patch.bytes.copy(out, plan.patch.at);
  return out;
}

/**
 * Strips a staged file in place: every kept byte moves towards the start (never past a byte not yet read), then the
 * file is cut to its new length. Returns the new size and hash; the caller flushes the file before storing it.
 */
export async function stripFile(path: string, plan: StripPlan): Promise<Stripped> {
  const hash = createHash('sha256');
  const file = await open(path, 'r+');
  try {
    const buffer = Buffer.allocUnsafe(COPY_CHUNK);
    let outAt = 0;
    for (const [start, end] of plan.keep) {
      for (let from = start; from < end; ) {
        const { bytesRead } = await file.read(buffer, 0, Math.min(COPY_CHUNK, end - from), from);
        if (bytesRead === 0) throw new Error('strip: the staged file is shorter than its walk');
        const read = buffer.subarray(0, bytesRead);
        const chunk = patched(read, outAt, plan);
        // Bytes already where they belong (before the first cut) are only hashed.
        if (from !== outAt || chunk !== read) await file.write(chunk, 0, bytesRead, outAt);
        hash.update(chunk);
        from += bytesRead;
        outAt += bytesRead;
      }
    }
    await file.truncate(outAt);
    return { bytes: outAt, sha256: hash.digest('hex') };
  } finally {
    await file.close();
  }
}
