// Resumable uploads (tus): an upload's state in the database, its bytes staged part by part in the blob store (so any
// instance can continue it, and a restart loses nothing), and its completion through the one upload use case.
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, open, stat, unlink } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { BlobStore } from '../storage/blob-store.js';
import { RESUMABLE_PREFIX } from '../storage/blob-keys.js';
import { fsyncPath } from '../../lib/fsync.js';
import type { Catalog } from '../images/catalog.js';
import { ImgdError, isServiceFault } from '../errors.js';
import type { ImageRecord } from '../images/image.js';
import type { UploadRequest, Uploads } from './upload-api.js';

export type ResumableState = 'receiving' | 'completing' | 'done';

export interface ResumableRecord {
  readonly id: string;
  /** Who may continue, query and end it (principalOf the creating actor). */
  readonly creator: string;
  readonly length: number;
  readonly received: number;
  /** Upload-Metadata as the client sent it (values decoded). */
  readonly metadata: Readonly<Record<string, string | null>>;
  readonly state: ResumableState;
  readonly imageId: string | null;
  readonly createdAt: string;
  readonly expiresAt: string;
}

export interface StagedPart {
  /** Its blob key, under RESUMABLE_PREFIX. */
  readonly key: string;
  readonly start: number;
  readonly bytes: number;
}

export interface ResumableRepo {
  insert(record: ResumableRecord): Promise<void>;
  get(id: string): Promise<ResumableRecord | undefined>;
  /** Records a part if the upload has received exactly part.start bytes; false when another write got there first. */
  addPart(uploadId: string, part: StagedPart): Promise<boolean>;
  parts(uploadId: string): Promise<StagedPart[]>;
  /** Claims a complete upload for checking and storing; a claim made before staleBefore counts as abandoned. */
  claim(id: string, at: string, staleBefore: string): Promise<boolean>;
  /** Gives a claim back (the store or database was away: the client may finish it again). */
  unclaim(id: string): Promise<void>;
  /** Marks it done with the image it became and forgets its parts; returns them. */
  finish(id: string, imageId: string): Promise<StagedPart[]>;
  /** Deletes it and its part rows; returns the parts. */
  remove(id: string): Promise<StagedPart[]>;
  /** Ids of uploads past their expiry. */
  expired(now: string, limit: number): Promise<string[]>;
  /** Which of these part keys a row refers to. */
  knownParts(keys: readonly string[]): Promise<Set<string>>;
}

export interface ResumableDeps {
  readonly repo: ResumableRepo;
  readonly store: BlobStore;
  readonly catalog: Catalog;
  readonly uploads: Uploads;
  /** Local folder for a request's bytes while they arrive (DATA_DIR/tmp). */
  readonly stagingDir: string;
  /** Unfinished uploads expire this long after they were created. */
  readonly expirySeconds: number;
}

/** What the finished file becomes: its original name and the upload fields (from the upload's metadata). */
export interface Completion {
  readonly originalName: string | null;
  readonly fields: Readonly<Record<string, string>>;
}

export interface Resumable {
  readonly expiryMs: number;
  create(input: { id: string; creator: string; length: number; metadata: Readonly<Record<string, string | null>> }): Promise<ResumableRecord>;
  find(id: string): Promise<ResumableRecord | undefined>;
  /**
   * Appends a request's body at offset `start`: received in full (or as far as the client got, unless a checksum was
   * sent), then staged in the store as one part. Answers the new offset; rethrows the source's failure after keeping
   * what arrived.
   */
  append(id: string, start: number, source: Readable, checksum?: Buffer): Promise<number>;
  /** Checks and stores a complete upload as an image (once: a finished one answers its image). */
  complete(id: string, request: UploadRequest, completion: Completion): Promise<ImageRecord>;
  /** Ends an upload and removes its bytes. */
  terminate(id: string): Promise<void>;
  /** Removes uploads past their expiry (finished ones' rows included) with their bytes; answers how many. */
  removeExpired(): Promise<number>;
  /** Removes staged parts no upload refers to (a crash between storing a part and recording it), older than cutoff. */
  removeOrphanParts(cutoffMs: number): Promise<number>;
}

/** A completion that runs longer than this was abandoned (the process died); another request may take it over. */
const CLAIM_STALE_MS = 10 * 60 * 1000;
const EXPIRED_BATCH = 100;

const notFound = (): ImgdError => new ImgdError('not_found', 'No such upload.');

/** A refusal of the file itself (4xx) ends the upload; an outage or a fault leaves it to be finished again. */
const refusesFile = (err: unknown): err is ImgdError => err instanceof ImgdError && !isServiceFault(err.code);

export function createResumableUploads(deps: ResumableDeps): Resumable {
  const { repo, store } = deps;
  const expiryMs = deps.expirySeconds * 1000;
  let staging: Promise<unknown> | undefined;

  const partKey = (id: string, start: number): string => `${RESUMABLE_PREFIX}${id}.${String(start).padStart(12, '0')}.${randomBytes(4).toString('hex')}`;

  async function dropParts(parts: readonly StagedPart[]): Promise<void> {
    for (const part of parts) await store.delete(part.key);
  }

  /** The staged parts, in order, as one stream. */
  function concatenated(parts: readonly StagedPart[]): Readable {
    return Readable.from(
      (async function* () {
        for (const part of parts) yield* await store.get(part.key);
      })(),
    );
  }

  async function discard(id: string): Promise<void> {
    await dropParts(await repo.remove(id));
  }

  async function existingImage(record: ResumableRecord): Promise<ImageRecord> {
    const image = record.imageId ? await deps.catalog.getImage(record.imageId) : undefined;
    if (!image) throw new ImgdError('not_found', 'The image this upload became has been deleted.');
    return image;
  }

  /** Receives a request body into a local file; answers its size and hash, and the source's failure if it broke off. */
  async function spool(source: Readable, file: string): Promise<{ bytes: number; sha256: Buffer; cut: unknown }> {
    staging ??= mkdir(deps.stagingDir, { recursive: true });
    await staging;
    // Opened first: a file that cannot be made is this server's failure, not a body cut short.
    const handle = await open(file, 'wx', 0o600);
    const hash = createHash('sha256');
    let cut: unknown;
    try {
      await pipeline(
        source,
        async function* (chunks: AsyncIterable<Buffer>) {
          for await (const chunk of chunks) {
            hash.update(chunk);
            yield chunk;
          }
        },
        handle.createWriteStream(),
      );
    } catch (err) {
      cut = err;
    }
    // What reached the file, whatever the hash saw: a broken pipeline may drop the chunks it still held.
    const bytes = (await stat(file).catch(() => undefined))?.size ?? 0;
    return { bytes, sha256: hash.digest(), cut };
  }

  return {
    expiryMs,

    async create(input) {
      const now = Date.now();
      const record: ResumableRecord = {
        ...input,
        received: 0,
        state: 'receiving',
        imageId: null,
        createdAt: new Date(now).toISOString(),
        expiresAt: new Date(now + expiryMs).toISOString(),
      };
      await repo.insert(record);
      return record;
    },

    find: (id) => repo.get(id),

    async append(id, start, source, checksum) {
      const record = await repo.get(id);
      if (!record) throw notFound();
      if (record.received !== start) throw new ImgdError('offset_mismatch', `The upload is at offset ${record.received}, not ${start}.`, { offset: record.received });
      if (record.state !== 'receiving') {
        // Complete already: the protocol let only an empty body through.
        source.resume();
        return record.received;
      }
      const file = path.join(deps.stagingDir, `resumable-${randomBytes(12).toString('hex')}`);
      try {
        const { bytes, sha256, cut } = await spool(source, file);
        // A body cut short cannot be checked against its checksum: none of it is kept.
        if (checksum && (cut !== undefined || !sha256.equals(checksum))) {
          if (cut !== undefined) throw cut;
          throw new ImgdError('checksum_mismatch', 'The body does not match its Upload-Checksum; nothing of it was kept.');
        }
        if (bytes > 0) {
          const key = partKey(id, start);
          // Durable before the offset that counts it is: a store on local disk does not flush files it is handed.
          if (store.localPath) await fsyncPath(file);
          await store.putFile(key, file);
          if (!(await repo.addPart(id, { key, start, bytes }))) {
            await store.delete(key);
            throw new ImgdError('offset_mismatch', 'Another request wrote to this upload at the same time.');
          }
        }
        if (cut !== undefined) throw cut;
        return start + bytes;
      } finally {
        await unlink(file).catch(() => undefined);
      }
    },

    async complete(id, request, completion) {
      const record = await repo.get(id);
      if (!record) throw notFound();
      if (record.state === 'done') return existingImage(record);
      if (record.received !== record.length) throw new ImgdError('offset_mismatch', `The upload has ${record.received} of ${record.length} bytes.`, { offset: record.received });
      const now = Date.now();
      if (!(await repo.claim(id, new Date(now).toISOString(), new Date(now - CLAIM_STALE_MS).toISOString()))) {
        const again = await repo.get(id);
        if (again?.state === 'done') return existingImage(again);
        if (!again) throw notFound();
        throw new ImgdError('conflict', 'This upload is being checked and stored by another request; ask again shortly (HEAD).');
      }
      const outcome = async (err: unknown): Promise<never> => {
        if (refusesFile(err)) await discard(id);
        else await repo.unclaim(id).catch(() => undefined);
        throw err;
      };
      let batch;
      let parts;
      try {
        parts = await repo.parts(id);
        batch = await deps.uploads.begin(request);
      } catch (err) {
        return outcome(err);
      }
      try {
        await batch.receive(concatenated(parts), completion.originalName);
      } catch (err) {
        const failure = err instanceof ImgdError ? err : new ImgdError('unavailable', 'The staged bytes of this upload cannot be read right now; try again shortly.');
        return outcome(await batch.abort(failure, completion.originalName));
      }
      let image: ImageRecord | undefined;
      try {
        const { items, errors } = await batch.finish(completion.fields);
        image = items[0];
        if (!image) throw errors[0]!.error;
      } catch (err) {
        return outcome(err);
      }
      await dropParts(await repo.finish(id, image.id));
      return image;
    },

    async terminate(id) {
      await discard(id);
    },

    async removeExpired() {
      let removed = 0;
      for (;;) {
        const ids = await repo.expired(new Date().toISOString(), EXPIRED_BATCH);
        for (const id of ids) await discard(id);
        removed += ids.length;
        if (ids.length < EXPIRED_BATCH) return removed;
      }
    },

    async removeOrphanParts(cutoffMs) {
      let removed = 0;
      const candidates: string[] = [];
      const sweep = async (): Promise<void> => {
        const known = await repo.knownParts(candidates);
        for (const key of candidates) {
          if (known.has(key)) continue;
          await store.delete(key);
          removed += 1;
        }
        candidates.length = 0;
      };
      for await (const blob of store.list(RESUMABLE_PREFIX)) {
        if (blob.modifiedAt.getTime() >= cutoffMs) continue;
        candidates.push(blob.key);
        if (candidates.length >= 500) await sweep();
      }
      if (candidates.length > 0) await sweep();
      return removed;
    },
  };
}
