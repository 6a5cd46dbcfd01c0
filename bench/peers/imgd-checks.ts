// imgd's checks on one uploaded file, with imgd's own modules, for the peers that add them to a server without imgd:
// the streaming pass (SHA-256, size limit, format sniff, declared size, structural walk), the EXIF read and GPS removal.
import { createHash } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { loadConfig } from '../../src/config.js';
import { readIngestMetadata } from '../../src/core/metadata/location.js';
import { checkLimits } from '../../src/core/upload/probe.js';
import { MemoryBudget } from '../../src/core/upload/received.js';
import { UploadReceiver } from '../../src/core/upload/upload-receiver.js';

export interface CheckedFile {
  readonly sha256: string;
  /** The bytes to keep: the upload without its location. */
  readonly bytes: Buffer;
  /** Gives the upload's share of the memory budget back, once the bytes are written. */
  readonly release: () => void;
}

/** A checker staging in `dir`/tmp what does not fit in memory, with imgd's default limits (as `npm start` has them). */
export function imgdChecks(dir: string): (file: Readable, name: string | null) => Promise<CheckedFile> {
  const stagingDir = path.join(dir, 'tmp');
  mkdirSync(stagingDir, { recursive: true });
  const budget = new MemoryBudget(64 * 1024 * 1024);
  const { limits, allowedFormats } = loadConfig({});
  return async (file, name) => {
    const receiver = new UploadReceiver(name, { limit: limits.fileSize, allowed: allowedFormats, probeLimits: limits, stagingDir, budget });
    await pipeline(file, receiver);
    const got = receiver.result();
    try {
      if (got.rejection || !got.format || !got.memory || !got.structure) throw new Error('refused');
      checkLimits(got.structure.width, got.structure.height, got.structure.frames, limits);
      const metadata = await readIngestMetadata({ head: got.head, whole: true, file: undefined }, got.format, true);
      const bytes = metadata.clean ?? got.memory;
      const sha256 = metadata.clean ? createHash('sha256').update(bytes).digest('hex') : got.sha256();
      return { sha256, bytes, release: got.release };
    } catch (err) {
      got.release();
      throw err;
    }
  };
}
