// Copies every blob from one store to another (disk to S3 and back), verifying as it goes; re-runs finish what was left.
import { createHash } from 'node:crypto';
import { Transform, pipeline, type Readable, type TransformCallback } from 'node:stream';
import type { BlobInfo, BlobStore } from '../core/storage/blob-store.js';
import { shaFromOriginalKey } from '../core/storage/blob-keys.js';

/** The bytes read do not match what the key (content-addressed originals) or the listing promised. */
export class IntegrityError extends Error {
  override name = 'IntegrityError';
}

export interface MigrationProgress {
  readonly seen: number;
  readonly copied: number;
  readonly skipped: number;
  readonly bytes: number;
}

export interface MigrationProblem {
  readonly key: string;
  readonly kind: 'mismatch' | 'error';
  readonly message: string;
}

export interface MigrationReport extends MigrationProgress {
  /** Originals whose SHA-256 was checked against their key. */
  readonly verified: number;
  /** Objects already in the target with another size, copied again. */
  readonly replaced: number;
  readonly problems: readonly MigrationProblem[];
}

export interface MigrationOptions {
  readonly concurrency: number;
  /** Hash originals already in the target instead of trusting their size. */
  readonly verifyExisting: boolean;
  readonly onProgress?: (progress: MigrationProgress) => void;
  readonly onProblem?: (problem: MigrationProblem) => void;
  /** Progress is reported after this many blobs (and at the end). */
  readonly progressEvery?: number;
}

/** Passes bytes through, and fails at the end (before the target can publish them) if size or hash are not what was expected. */
export function verifier(key: string, expectedSize: number, expectedSha: string | undefined): Transform {
  const hash = createHash('sha256');
  let size = 0;
  return new Transform({
    transform(chunk: Buffer, _encoding, callback: TransformCallback) {
      size += chunk.length;
      hash.update(chunk);
      callback(null, chunk);
    },
    flush(callback: TransformCallback) {
      if (size !== expectedSize) return callback(new IntegrityError(`${key}: read ${size} bytes, the store lists ${expectedSize}`));
      const digest = hash.digest('hex');
      if (expectedSha && digest !== expectedSha) return callback(new IntegrityError(`${key}: content hashes to ${digest}, not to its name`));
      callback();
    },
  });
}

/** The bytes of a blob, failing at the end on a size or (originals) hash mismatch. */
export async function verifiedRead(store: BlobStore, blob: BlobInfo): Promise<Readable> {
  const source = await store.get(blob.key);
  return pipeline(source, verifier(blob.key, blob.size, shaFromOriginalKey(blob.key)), () => undefined);
}

/** Reads a blob to its end through the verifier; rejects with IntegrityError on a mismatch. */
async function drainVerified(store: BlobStore, blob: BlobInfo): Promise<void> {
  for await (const chunk of await verifiedRead(store, blob)) void chunk;
}

/** What imgd keeps in a store; anything else in a shared bucket is not ours to copy. */
const PREFIXES = ['originals/', 'variants/'];

async function* imgdBlobs(store: BlobStore): AsyncGenerator<BlobInfo> {
  for (const prefix of PREFIXES) yield* store.list(prefix);
}

export async function migrateStorage(source: BlobStore, target: BlobStore, options: MigrationOptions): Promise<MigrationReport> {
  const problems: MigrationProblem[] = [];
  let seen = 0;
  let copied = 0;
  let skipped = 0;
  let replaced = 0;
  let verified = 0;
  let bytes = 0;
  const every = options.progressEvery ?? 100;
  const progress = (): MigrationProgress => ({ seen, copied, skipped, bytes });

  const report = (key: string, err: unknown): void => {
    const problem: MigrationProblem =
      err instanceof IntegrityError ? { key, kind: 'mismatch', message: err.message } : { key, kind: 'error', message: `${key}: ${(err as Error).message}` };
    problems.push(problem);
    options.onProblem?.(problem);
  };

  async function copyOne(blob: BlobInfo): Promise<void> {
    const isOriginal = shaFromOriginalKey(blob.key) !== undefined;
    const present = await target.stat(blob.key);
    if (present && present.size === blob.size) {
      // Both stores publish atomically, so an object of the right size is a finished copy; hashing it again is optional.
      const intact =
        !(options.verifyExisting && isOriginal) ||
        (await drainVerified(target, present).then(
          () => true,
          (err: unknown) => {
            if (err instanceof IntegrityError) return false;
            throw err;
          },
        ));
      if (intact) {
        skipped += 1;
        return;
      }
    }
    await target.put(blob.key, await verifiedRead(source, blob));
    if (present) replaced += 1;
    if (isOriginal) verified += 1;
    copied += 1;
    bytes += blob.size;
  }

  const running = new Set<Promise<void>>();
  for await (const blob of imgdBlobs(source)) {
    const task = copyOne(blob)
      .catch((err: unknown) => report(blob.key, err))
      .finally(() => {
        running.delete(task);
        seen += 1;
        if (seen % every === 0) options.onProgress?.(progress());
      });
    running.add(task);
    if (running.size >= options.concurrency) await Promise.race(running);
  }
  await Promise.all(running);
  options.onProgress?.(progress());
  return { ...progress(), verified, replaced, problems };
}
