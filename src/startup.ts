// What a core does to this machine as it starts: private files in the data dir, libvips' settings, and what a crash left staged.
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from 'pino';
import sharp from 'sharp';
import type { Config } from './config.js';
import { clearStaleTemp } from './core/storage/gc.js';
import { createPrivately } from './ops/private-files.js';
import { openDatabase, type Db } from './db/database.js';

export async function prepareDataDir(config: Config): Promise<void> {
  createPrivately();
  await mkdir(config.dataDir, { recursive: true });
}

export function configureSharp(processing: Config['processing']): void {
  // libvips' operation cache keeps a cached load's decoder alive, and a progressive JPEG's decoder holds every DCT
  // coefficient (3-6 bytes a pixel) outside the cache's own accounting: off unless SHARP_CACHE_MB asks for it.
  sharp.cache(processing.sharpCacheMb > 0 ? { memory: processing.sharpCacheMb, files: 0, items: 200 } : false);
  sharp.concurrency(processing.sharpConcurrency);
}

/** The local folders imgd writes to (data dir, staging, the disk store, SQLite's), whose free space readiness watches. */
export function localWriteDirs(config: Config, stagingDir: string): string[] {
  return [config.dataDir, stagingDir, ...(config.storage.kind === 'fs' ? [config.storage.dir] : []), ...(config.database.kind === 'sqlite' ? [path.dirname(config.database.file)] : [])];
}

/**
 * What a crash left staged goes at start, not only at the next gc; younger files may be an upload of another process.
 * An unusable folder does not stop the start: readiness reports the store.
 */
export async function sweepStaleTemp(tempDirs: readonly string[], graceSeconds: number, logger: Logger): Promise<void> {
  const staleTemp = await clearStaleTemp(tempDirs, graceSeconds).catch((err: Error) => {
    logger.warn({ err: err.message }, 'could not clear stale staged files at start');
    return 0;
  });
  if (staleTemp > 0) logger.info({ tempFiles: staleTemp }, 'removed stale staged files at start');
}

/** The metadata database, its connection troubles told in the log. */
export function openLoggedDatabase(config: Config, logger: Logger): Db {
  return openDatabase(
    config.database,
    (err) => logger.warn({ err: err.message }, 'database connection lost; the next query opens a new one'),
    (err) => logger.warn({ err: err.message }, 'the WAL checkpoint thread failed; commits checkpoint the WAL by themselves'),
  );
}
