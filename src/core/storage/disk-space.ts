// Room on the local disks imgd writes to (data dir, staging, blobs, SQLite): readiness reports too little, or a write that found none.
import { statfs } from 'node:fs/promises';
import path from 'node:path';
import { ImgdError } from '../errors.js';

/**
 * How long a write that failed for lack of space keeps readiness failing, unless a later write succeeds: quotas and
 * SQLite's own limits do not show in free space.
 */
export const FULL_RECENTLY_MS = 30_000;

/** Seconds a client is asked to wait after a 507: space comes back when someone makes it, not in a moment. */
export const DISK_RETRY_AFTER_SECONDS = 30;

/** The refusal of a request that found no space to write in; `cause`, the write's own error, is for the logs. */
export function noSpaceLeft(cause?: unknown): ImgdError {
  const error = new ImgdError('insufficient_storage', 'The server has no space left to store this; nothing was kept, try again later.', {
    retry_after: DISK_RETRY_AFTER_SECONDS,
  });
  if (cause !== undefined) error.cause = cause;
  return error;
}

export interface DiskSpace {
  /** A write failed for lack of space. */
  noteFull(): void;
  /** A write (an upload's commit, a job's variants) succeeded: the last failure is past. */
  noteWritten(): void;
  /** Throws, saying why, when a folder has less than `minFree` bytes free, or the last write found no space within FULL_RECENTLY_MS. */
  check(): Promise<void>;
}

export function createDiskSpace(folders: readonly string[], minFree: number, now: () => number = Date.now): DiskSpace {
  const distinct = [...new Set(folders.map((folder) => path.resolve(folder)))];
  let fullAt: number | undefined;
  return {
    noteFull() {
      fullAt = now();
    },
    noteWritten() {
      fullAt = undefined;
    },
    async check() {
      if (fullAt !== undefined && now() - fullAt < FULL_RECENTLY_MS) {
        throw new Error(`a write found no space left ${Math.round((now() - fullAt) / 1000)} s ago`);
      }
      for (const folder of distinct) {
        const free = await freeBytes(folder);
        if (free < minFree) throw new Error(`${folder} has ${free} bytes free, under MIN_FREE_DISK (${minFree})`);
      }
    },
  };
}

/** Free bytes for an unprivileged writer on the file system holding folder (or its nearest existing parent). */
async function freeBytes(folder: string): Promise<number> {
  for (let at = folder; ; at = path.dirname(at)) {
    try {
      const stats = await statfs(at);
      return stats.bavail * stats.bsize;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      // Not made yet (the blob folder before the first upload), or under a file: the nearest folder above decides.
      if ((code !== 'ENOENT' && code !== 'ENOTDIR') || path.dirname(at) === at) throw err;
    }
  }
}
