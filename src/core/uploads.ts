// The upload use case: what happens when images come in, whatever the entry point (multipart, raw PUT, CLI import,
// compatibility profiles, resumable uploads). Receive in one streaming pass, check, name, store the bytes durably,
// then one transaction for the image, its blob reference, its jobs, the attempt record and the audit entry.
import { createHash } from 'node:crypto';
import { mkdir, readFile, unlink } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { finished } from 'node:stream/promises';
import type { ImageFormat } from '../config.js';
import { canUpload, uploadTerms } from '../auth/policy.js';
import { originalKey, type BlobStore } from '../store/blob-store.js';
import { fsyncPath } from '../store/fsync.js';
import type { AuditEntry } from './audit.js';
import type { Catalog } from './catalog.js';
import { noSpaceLeft } from './disk-space.js';
import { ImgdError } from './errors.js';
import { parseUploadFields } from './fields.js';
import { FORMATS } from './formats.js';
import { newId, newUrlKey } from './ids.js';
import { isDiskFull } from './outages.js';
import type { JobRequest } from './jobs.js';
import { readIngestMetadata } from './location.js';
import { collisionName, slugStem, storedName } from './naming.js';
import { decodeCost, sanitizeCost } from './decode-budget.js';
import type { Decoding } from './decoding.js';
import { checkLimits, checkProgressive, probeImage, type ProbeLimits } from './probe.js';
import { stripBuffer, stripFile, stripPlan } from './strip.js';
import { describeActor, type Actor, type ImageRecord, type UploadAttempt, type Visibility } from './types.js';
import { MemoryBudget, UploadReceiver, type Received } from './upload-receiver.js';

export interface UploadLimits extends ProbeLimits {
  readonly fileSize: number;
}

export interface UploadsDeps {
  readonly catalog: Catalog;
  readonly store: BlobStore;
  readonly stagingDir: string;
  readonly limits: UploadLimits;
  readonly allowedFormats: readonly ImageFormat[];
  /** Take GPS locations out of stored bytes (they stay in the owner's metadata). */
  readonly stripLocation: boolean;
  /** Cut what is not the image (comments, unknown chunks, trailing data) out of stored bytes; see strip.ts. */
  readonly stripExtras: boolean;
  /** `processing` when background jobs will finish the image, `ready` when none will run. */
  readonly initialStatus: 'processing' | 'ready';
  /** The jobs an accepted image gets, written in its transaction. */
  readonly jobsFor: (imageId: string) => readonly JobRequest[];
  /** Spends a single-use upload token; the function returned gives it back. */
  readonly spendGrant: (actor: Actor) => Promise<() => Promise<void>>;
  /** Runs after each commit: the job runner looks for the new jobs now. */
  readonly onCommitted: () => void;
  /** Told about every finished attempt, for metrics. */
  readonly onAttempt: (outcome: 'success' | 'failed', code: string | null, bytes: number) => void;
  /** Writes the audit line of an accepted upload to the log (its row is in the upload's transaction). */
  readonly logAudit: (entry: AuditEntry) => void;
  /** Bytes all uploads in flight may hold in memory together. */
  readonly memoryBudget: number;
  /** A write found no space left (staging, the store, the database): readiness reports it for a while. */
  readonly onDiskFull: () => void;
  /** The decode memory budget and the HEIC and SVG threads, shared with jobs and variant requests. */
  readonly decoding: Decoding;
}

export interface UploadRequest {
  /** Who uploads; the native rules apply (canUpload, upload-token grants, owner from the actor). */
  readonly actor: Actor;
  /** The client's address, for the audit log. */
  readonly ip: string | null;
  /** For fields the client did not send (native default: public). */
  readonly defaults?: { readonly visibility?: Visibility };
  /** A lower size limit than MAX_FILE_SIZE; enforced while streaming. */
  readonly maxBytes?: number;
  /**
   * The stored filename when the caller chooses it (profiles): called once the content is known, with attempt 0, then
   * 1, 2, ... while the name returned is taken. An ImgdError thrown refuses the file. Native naming when absent.
   */
  readonly name?: (file: { readonly originalName: string | null; readonly format: ImageFormat; readonly extension: string }, attempt: number) => string;
  /** Told of each attempt record this request writes, accepted or refused (a profile that answers with its id). */
  readonly onAttempt?: (attempt: UploadAttempt) => void;
  /** Store the description as sent, untrimmed, an empty one as "" (a profile whose seed did so); else trimmed, "" as none. */
  readonly verbatimDescription?: boolean;
  /**
   * Bytes an image already has (as stored: after the ingest's cuts) make no new image: the file is left out of items
   * and errors, listed in `alreadyStored`, and no attempt is recorded (`imgd import` run again adds nothing).
   */
  readonly skipStoredBytes?: boolean;
}

export interface BatchResult {
  readonly items: readonly ImageRecord[];
  readonly errors: ReadonlyArray<{ readonly originalName: string | null; readonly error: ImgdError }>;
  /** With `skipStoredBytes`: the files whose bytes an image already had. */
  readonly alreadyStored?: ReadonlyArray<{ readonly originalName: string | null; readonly sha256: string }>;
}

export interface UploadBatch {
  /** The largest file this upload takes, in bytes (MAX_FILE_SIZE, or less for a profile or an upload token). */
  readonly limit: number;
  /**
   * Streams one file in. Resolves once the source is read to its end; a refusal decided from the content is kept for
   * finish(). Rejects with an ImgdError only for what ends the request (file_too_large, the client went away, I/O).
   */
  receive(source: Readable, originalName: string | null): Promise<void>;
  /** Checks the fields (description, key, visibility; others refused) and commits each received file on its own. */
  finish(fields: Readonly<Record<string, string>>): Promise<BatchResult>;
  /** The request cannot go on: drops what was received, records the failure once, returns the error to throw. */
  abort(error: ImgdError, originalName?: string | null): Promise<ImgdError>;
}

export interface Uploads {
  /** Opens an upload; throws (unauthorized, forbidden) when the actor may not upload. */
  begin(request: UploadRequest): Promise<UploadBatch>;
  /** Records a refusal decided before any file was read; returns the error to throw. */
  refuse(request: UploadRequest, error: ImgdError, originalName?: string | null): Promise<ImgdError>;
}

/** A received file that passed every check: what it is, and the bytes to store. */
interface Checked {
  readonly format: ImageFormat;
  readonly width: number;
  readonly height: number;
  readonly frames: number;
  readonly hasAlpha: boolean;
  readonly sha256: string;
  readonly bytes: number;
  /** The bytes to store: in memory, or the staged file. */
  readonly content: Buffer | string;
  readonly exif: unknown;
  /** How long reading the EXIF took here, when it was read (the processing job then does not). */
  readonly exifMs: number | undefined;
  readonly firstName: string;
}

const cutShort = (err: unknown): ImgdError =>
  err instanceof ImgdError ? err : new ImgdError('malformed_multipart', `The upload was cut short: ${(err as Error).message}`);

/** err, or when it says no space was left to write (not the upload's fault), the 507 that asks the client to try again later. */
const asNoSpaceLeft = (err: unknown, onDiskFull: () => void): unknown => {
  if (!isDiskFull(err) || (err instanceof ImgdError && err.code === 'insufficient_storage')) return err;
  onDiskFull();
  return noSpaceLeft(err);
};

/** A file whose bytes an image already has, under `skipStoredBytes`: not an error, not an image. */
class AlreadyStored extends Error {
  constructor(readonly sha256: string) {
    super('These bytes are stored already.');
  }
}

export function createUploads(deps: UploadsDeps): Uploads {
  const { catalog, store, limits } = deps;
  const budget = new MemoryBudget(deps.memoryBudget);
  let staging: Promise<unknown> | undefined;

  async function recordFailure(request: UploadRequest, originalName: string | null, error: ImgdError, startedAt: number, bytes: number | null): Promise<void> {
    const attempt = attemptRecord(null, originalName, startedAt, bytes, error);
    try {
      await catalog.recordAttempt(attempt);
    } catch (err) {
      // On a full disk the refusal is answered all the same; only its row (for /api/v1/stats) is not written.
      if (!isDiskFull(err)) throw err;
      deps.onDiskFull();
    }
    request.onAttempt?.(attempt);
    deps.onAttempt('failed', error.code, bytes ?? 0);
  }

  function attemptRecord(imageId: string | null, originalName: string | null, startedAt: number, bytes: number | null, error?: ImgdError): UploadAttempt {
    return {
      id: newId(),
      imageId,
      originalName: originalName?.slice(0, 255) ?? null,
      outcome: error ? 'failed' : 'success',
      code: error?.code ?? null,
      reason: error?.message.slice(0, 500) ?? null,
      bytes,
      durationMs: performance.now() - startedAt,
      createdAt: new Date().toISOString(),
    };
  }

  async function discard(received: Received): Promise<void> {
    received.release();
    if (received.stagedPath) await unlink(received.stagedPath).catch(() => undefined);
  }

  /** The content checks after the streaming pass: structure (or a decode), limits, SVG sanitizing, metadata, name. */
  async function check(received: Received, request: UploadRequest): Promise<Checked> {
    if (received.rejection) throw received.rejection;
    const format = received.format;
    if (!format) throw new ImgdError('unsupported_format', 'The file is not an image in a format this server accepts.');
    let content: Buffer | string = received.memory ?? received.stagedPath!;
    let sha256: string | undefined;
    let { bytes } = received;
    let dims: { width: number; height: number; frames: number; hasAlpha: boolean };
    let exif: unknown = null;
    let exifMs: number | undefined;
    if (format === 'svg') {
      // Stored sanitized, so its hash (and dedupe) are of the sanitized bytes; librsvg only ever sees those.
      const text = received.memory ?? (await readFile(received.stagedPath!));
      const clean = Buffer.from(await deps.decoding.budget.run(sanitizeCost(text.length), 'request', () => deps.decoding.svg.sanitize(text)), 'utf8');
      content = clean;
      bytes = clean.length;
      sha256 = createHash('sha256').update(clean).digest('hex');
      dims = await probeImage(clean, format, limits, deps.decoding);
    } else {
      const walked = received.structure;
      if (walked) {
        checkLimits(walked.width, walked.height, walked.frames, limits);
        if (format === 'jpeg' && walked.progressive) checkProgressive(walked.width, walked.height, limits);
        dims = walked;
      } else {
        // No walker for this format, or the walk found something odd: a decode decides, as libvips would later.
        dims = await probeImage(content, format, limits, deps.decoding);
      }
      const exifStarted = performance.now();
      const metadata = await readIngestMetadata(
        { head: received.head, whole: received.memory !== undefined, file: received.stagedPath, metadata: received.structure?.metadata },
        format,
        deps.stripLocation,
        // A location the in-place scrub cannot reach means decoding the whole image to encode it again.
        (work) => deps.decoding.budget.run(decodeCost({ format, ...dims, progressive: received.structure?.progressive }) * 2, 'request', work),
      );
      exif = metadata.exif;
      if (metadata.read) exifMs = performance.now() - exifStarted;
      if (metadata.clean) content = metadata.clean;
      // The location scrub keeps every offset, so the walk's plan still holds for its bytes; a re-encode has no extras.
      const plan = deps.stripExtras && walked && !metadata.reencoded ? stripPlan(format, walked, received.bytes) : undefined;
      if (plan && typeof content === 'string') {
        ({ bytes, sha256 } = await stripFile(content, plan));
      } else if (plan || metadata.clean) {
        const kept: Buffer = plan ? stripBuffer(content as Buffer, plan) : (content as Buffer);
        content = kept;
        bytes = kept.length;
        sha256 = createHash('sha256').update(kept).digest('hex');
      }
    }
    const extension = FORMATS[format].extension;
    const firstName = request.name ? request.name({ originalName: received.originalName, format, extension }, 0) : storedName(slugStem(received.originalName ?? undefined), extension);
    return { format, ...pick(dims), sha256: sha256 ?? received.sha256(), bytes, content, exif, exifMs, firstName };
  }

  /** Writes the bytes under their hash unless an image has them already; true when this call wrote them. */
  async function storeBytes(sha256: string, content: Buffer | string, look: 'catalog' | 'store'): Promise<boolean> {
    const key = originalKey(sha256);
    if (look === 'catalog' ? await catalog.blobStored(sha256) : await store.exists(key)) return false;
    if (typeof content === 'string') {
      // Flushed once, here, after every rewrite (sanitizing, location), and only when the bytes are kept.
      await fsyncPath(content);
      await store.putFile(key, content);
    } else {
      await store.putBytes(key, content);
    }
    return true;
  }

  /** Uploads of this process writing or committing bytes, by SHA-256: a failed commit leaves bytes the others need. */
  const inFlight = new Map<string, number>();

  /** Removes the bytes a failed commit wrote when no row names them; failing that, `gc` does after its grace period. */
  async function dropOrphan(sha256: string): Promise<void> {
    if ((inFlight.get(sha256) ?? 0) > 1) return;
    try {
      if (!(await catalog.blobStored(sha256))) await store.delete(originalKey(sha256));
    } catch {
      // The database or the store failed too: the bytes stay for gc, and the commit's own error is what is reported.
    }
  }

  async function commitOne(received: Received, request: UploadRequest, fields: ReturnType<typeof uploadTerms>): Promise<ImageRecord> {
    const checked = await check(received, request);
    const { sha256 } = checked;
    if (request.skipStoredBytes && (await catalog.blobStored(sha256))) throw new AlreadyStored(sha256);
    inFlight.set(sha256, (inFlight.get(sha256) ?? 0) + 1);
    let wrote = false;
    try {
      // The bytes are in place before any row names them.
      wrote = await storeBytes(sha256, checked.content, 'catalog');
      return await commitRow(received, request, fields, checked, wrote);
    } catch (err) {
      // Nothing partial: bytes no row names (the database full, or away) go with the failed upload.
      if (wrote) await dropOrphan(sha256);
      throw err;
    } finally {
      const left = inFlight.get(sha256)! - 1;
      if (left === 0) inFlight.delete(sha256);
      else inFlight.set(sha256, left);
    }
  }

  async function commitRow(received: Received, request: UploadRequest, fields: ReturnType<typeof uploadTerms>, checked: Checked, wrote: boolean): Promise<ImageRecord> {
    const info = FORMATS[checked.format];
    const id = newId();
    const createdAt = new Date().toISOString();
    const stem = slugStem(received.originalName ?? undefined);
    const filename = (attempt: number): string => {
      if (attempt === 0) return checked.firstName;
      return request.name ? request.name({ originalName: received.originalName, format: checked.format, extension: info.extension }, attempt) : collisionName(stem, info.extension);
    };
    const audit: AuditEntry = {
      actor: describeActor(request.actor),
      action: 'image.upload',
      target: id,
      ip: request.ip,
      details: { bytes: checked.bytes },
    };
    // An accepted attempt counts the bytes stored (comments, trailing data and a location may have been cut out).
    const attempt = attemptRecord(id, received.originalName, received.startedAt, checked.bytes);
    const { image, firstReference } = await catalog.commitUpload({
      image: {
        id,
        urlKey: newUrlKey(),
        originalName: received.originalName,
        sha256: checked.sha256,
        format: checked.format,
        contentType: info.contentType,
        bytes: checked.bytes,
        width: checked.width,
        height: checked.height,
        frames: checked.frames,
        hasAlpha: checked.hasAlpha,
        status: deps.initialStatus,
        error: null,
        visibility: fields.fields.visibility,
        key: fields.fields.key,
        description: fields.fields.description,
        ownerId: fields.ownerId,
        exif: checked.exif,
        createdAt,
      },
      filename,
      blob: { sha256: checked.sha256, bytes: checked.bytes, format: checked.format, contentType: info.contentType, width: checked.width, height: checked.height },
      jobs: deps.jobsFor(id),
      attempt,
      audit,
      steps: checked.exifMs === undefined ? [] : [{ step: 'exif', ok: true, durationMs: checked.exifMs }],
    });
    // A delete of the last image with these bytes may have removed them between our look and our commit.
    if (firstReference && !wrote) await storeBytes(checked.sha256, checked.content, 'store');
    deps.onCommitted();
    request.onAttempt?.(attempt);
    deps.onAttempt('success', null, checked.bytes);
    deps.logAudit({ ...audit, details: { filename: image.filename, bytes: image.bytes } });
    return image;
  }

  return {
    async refuse(request, error, originalName = null) {
      await recordFailure(request, originalName, error, performance.now(), null);
      return error;
    },

    async begin(request) {
      canUpload(request.actor);
      const giveBack = await deps.spendGrant(request.actor);
      const grantLimit = request.actor.kind === 'upload_token' ? request.actor.grant.maxBytes : null;
      const limit = Math.min(limits.fileSize, request.maxBytes ?? Infinity, grantLimit ?? Infinity);
      const received: Received[] = [];
      let files = 0;
      const startedAt = performance.now();
      let closed = false;
      staging ??= mkdir(deps.stagingDir, { recursive: true });
      await staging;

      const dropAll = async (): Promise<void> => {
        closed = true;
        await Promise.all(received.map(discard));
      };

      return {
        limit,

        async receive(source, originalName) {
          // Files may finish in any order; the answer lists them in the order they were sent.
          const slot = files;
          files += 1;
          const receiver = new UploadReceiver(originalName, { limit, allowed: deps.allowedFormats, probeLimits: limits, stagingDir: deps.stagingDir, budget });
          try {
            await pipeInto(source, receiver);
          } catch (err) {
            throw cutShort(asNoSpaceLeft(err, deps.onDiskFull));
          }
          const result = receiver.result();
          if (closed) await discard(result);
          else received[slot] = result;
        },

        async finish(rawFields) {
          const all = received.filter((r) => r !== undefined);
          let terms;
          try {
            if (all.length === 0) throw new ImgdError('missing_file', 'The form has no "file" part.');
            terms = uploadTerms(request.actor, parseUploadFields(rawFields, { visibility: request.defaults?.visibility ?? 'public' }, { verbatimDescription: request.verbatimDescription }));
          } catch (err) {
            await dropAll();
            await giveBack();
            if (err instanceof ImgdError) await recordFailure(request, all[0]?.originalName ?? null, err, all[0]?.startedAt ?? startedAt, all[0]?.bytes ?? null);
            throw err;
          }
          closed = true;
          const outcomes = await Promise.allSettled(all.map((file) => commitOne(file, request, terms)));
          const items: ImageRecord[] = [];
          const errors: Array<{ originalName: string | null; error: ImgdError }> = [];
          const alreadyStored: Array<{ originalName: string | null; sha256: string }> = [];
          // Every staged file goes, whatever the outcomes: a fault below must not leave the others behind.
          await Promise.all(all.map(discard));
          let fault: unknown;
          for (const [i, outcome] of outcomes.entries()) {
            const file = all[i]!;
            if (outcome.status === 'fulfilled') {
              items.push(outcome.value);
              continue;
            }
            if (outcome.reason instanceof AlreadyStored) {
              alreadyStored.push({ originalName: file.originalName, sha256: outcome.reason.sha256 });
              continue;
            }
            const reason = asNoSpaceLeft(outcome.reason, deps.onDiskFull);
            const error = reason instanceof ImgdError ? reason : new ImgdError('internal', 'The upload could not be stored.');
            await recordFailure(request, file.originalName, error, file.startedAt, file.bytes);
            // No space is the server's state, not the file's: the request fails as a whole, as with an outage.
            if (reason instanceof ImgdError && reason.code !== 'insufficient_storage') errors.push({ originalName: file.originalName, error });
            else fault ??= reason;
          }
          if (items.length === 0) await giveBack();
          if (fault !== undefined) throw fault;
          return { items, errors, ...(request.skipStoredBytes ? { alreadyStored } : {}) };
        },

        async abort(error, originalName = null) {
          await dropAll();
          await giveBack();
          await recordFailure(request, originalName, error, startedAt, null);
          return error;
        },
      };
    },
  };
}

function pick(dims: { width: number; height: number; frames: number; hasAlpha: boolean }) {
  return { width: dims.width, height: dims.height, frames: dims.frames, hasAlpha: dims.hasAlpha };
}

/**
 * source.pipe(receiver) until the receiver has everything. Not stream.pipeline: it allocates an AbortController per
 * call and aborts it on success, building a DOMException with a stack trace for every upload.
 */
async function pipeInto(source: Readable, receiver: UploadReceiver): Promise<void> {
  const fail = (err?: Error): void => {
    receiver.destroy(err ?? new Error('the upload ended before its last byte'));
  };
  // A source that closes without its end (the client went away, the multipart parser gave up) ends the upload.
  const closed = (): void => {
    if (!source.readableEnded) fail();
  };
  source.once('error', fail);
  source.once('aborted', fail);
  source.once('close', closed);
  // Already ended by a reader that gave up on the body (its events are past): the upload fails now, not never.
  if (source.destroyed && !source.readableEnded) fail((source.errored as Error | null) ?? undefined);
  source.pipe(receiver);
  try {
    await finished(receiver);
  } finally {
    source.off('error', fail);
    source.off('aborted', fail);
    source.off('close', closed);
    source.unpipe(receiver);
  }
}
