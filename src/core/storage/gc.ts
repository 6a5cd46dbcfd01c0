// Garbage collection: staged uploads a crash left behind, and stored bytes no row refers to.
import { opendir, stat, unlink } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from 'pino';
import type { BlobInfo, BlobStore } from './blob-store.js';
import { ORIGINALS_PREFIX, shaFromOriginalKey } from './blob-keys.js';
import type { Catalog } from '../images/catalog.js';
import type { Idempotency } from '../upload/idempotency.js';
import type { Resumable } from '../upload/resumable.js';

export interface GcOptions {
  readonly catalog: Catalog;
  readonly store: BlobStore;
  /** Local folders of in-flight temp files (staged uploads, the store's own temp files). */
  readonly tempDirs: readonly string[];
  /** Only what is older than this is touched: anything younger may belong to an upload under way. */
  readonly graceSeconds: number;
  readonly logger: Logger;
  /** Expired resumable uploads go with their staged bytes, and staged parts no upload refers to. */
  readonly resumable?: Pick<Resumable, 'removeExpired' | 'removeOrphanParts'>;
  /** Idempotency-Key answers older than a day go. */
  readonly idempotency?: Pick<Idempotency, 'removeExpired'>;
}

export interface GcReport {
  readonly tempFiles: number;
  readonly blobs: number;
  /** Resumable uploads removed because they expired. */
  readonly uploads: number;
  readonly idempotencyKeys: number;
}

const BATCH = 500;

async function removeStaleTemp(dir: string, cutoff: number): Promise<number> {
  let removed = 0;
  let handle;
  try {
    handle = await opendir(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 0;
    throw err;
  }
  for await (const entry of handle) {
    if (!entry.isFile()) continue;
    const file = path.join(dir, entry.name);
    const info = await stat(file).catch(() => undefined);
    if (info && info.mtimeMs < cutoff) {
      await unlink(file).catch(() => undefined);
      removed += 1;
    }
  }
  return removed;
}

/** Removes temp files older than the grace period (run at every start, and by each gc); answers how many. */
export async function clearStaleTemp(tempDirs: readonly string[], graceSeconds: number): Promise<number> {
  const cutoff = Date.now() - graceSeconds * 1000;
  let removed = 0;
  for (const dir of tempDirs) removed += await removeStaleTemp(dir, cutoff);
  return removed;
}

export async function collectGarbage(options: GcOptions): Promise<GcReport> {
  const cutoff = Date.now() - options.graceSeconds * 1000;
  const tempFiles = await clearStaleTemp(options.tempDirs, options.graceSeconds);

  let blobs = 0;
  let batch: BlobInfo[] = [];
  const sweep = async (): Promise<void> => {
    const known = await options.catalog.knownBlobs(batch.map((b) => shaFromOriginalKey(b.key) ?? ''));
    for (const blob of batch) {
      const sha = shaFromOriginalKey(blob.key);
      if (sha && !known.has(sha) && blob.modifiedAt.getTime() < cutoff) {
        await options.store.delete(blob.key);
        blobs += 1;
      }
    }
    batch = [];
  };
  for await (const blob of options.store.list(ORIGINALS_PREFIX)) {
    batch.push(blob);
    if (batch.length >= BATCH) await sweep();
  }
  if (batch.length > 0) await sweep();
  let uploads = 0;
  if (options.resumable) {
    uploads = await options.resumable.removeExpired();
    blobs += await options.resumable.removeOrphanParts(cutoff);
  }
  const idempotencyKeys = (await options.idempotency?.removeExpired()) ?? 0;
  options.logger.info({ tempFiles, blobs, uploads, idempotencyKeys }, 'garbage collected');
  return { tempFiles, blobs, uploads, idempotencyKeys };
}
