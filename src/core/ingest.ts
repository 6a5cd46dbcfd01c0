// Ingest: stream an upload to a staged file (hash, size and magic bytes in one pass), check it, publish it.
import { createHash, randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, unlink } from 'node:fs/promises';
import path from 'node:path';
import { Transform, type Readable, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ImageFormat } from '../config.js';
import { originalKey, type BlobStore } from '../store/blob-store.js';
import { fsyncPath } from '../store/fsync.js';
import { NameTakenError, type Catalog } from './catalog.js';
import { ImgdError } from './errors.js';
import type { UploadFields } from './fields.js';
import { FORMATS, SNIFF_BYTES, declaredSize, detectFormat } from './formats.js';
import { newId } from './ids.js';
import { collisionName, slugStem, storedName } from './naming.js';
import { readHead } from './file-head.js';
import { removeLocation } from './location.js';
import { SVG_MAX_BYTES, sanitizeSvgFile } from './svg-thread.js';
import { checkDeclaredSize, probeImage, type ProbeLimits } from './probe.js';
import type { ImageRecord } from './types.js';

export interface IngestLimits extends ProbeLimits {
  readonly fileSize: number;
}

export interface IngestDeps {
  readonly catalog: Catalog;
  readonly store: BlobStore;
  readonly stagingDir: string;
  readonly limits: IngestLimits;
  readonly allowedFormats: readonly ImageFormat[];
  /** Take GPS locations out of stored bytes (they stay in the owner's metadata). */
  readonly stripLocation: boolean;
  /** `processing` when background jobs will finish the image, `ready` when none will run. */
  readonly initialStatus: 'processing' | 'ready';
  /** Runs after an image is stored, to queue its processing. */
  readonly onStored?: (image: ImageRecord) => Promise<void>;
  /** Told about every finished attempt, for metrics. */
  readonly onAttempt?: (outcome: 'success' | 'failed', code: string | null, bytes: number) => void;
}

/** An upload streamed to local disk, not yet checked or published. */
export interface StagedUpload {
  readonly tempPath: string;
  readonly originalName: string | null;
  readonly sha256: string;
  readonly bytes: number;
  readonly format: ImageFormat | undefined;
  /** A refusal decided from the first bytes; the rest of the body was read but not kept. */
  readonly rejection: ImgdError | undefined;
  readonly startedAt: number;
}

export interface UploadOwner {
  readonly ownerId: string | null;
}

export interface BatchError {
  readonly originalName: string | null;
  readonly error: ImgdError;
}

export interface BatchResult {
  readonly items: readonly ImageRecord[];
  readonly errors: readonly BatchError[];
}

const MAX_NAME_TRIES = 5;

/** Hashes, counts and sniffs the bytes as they pass; stops keeping them once the verdict is no. */
class UploadInspector extends Transform {
  readonly hash = createHash('sha256');
  bytes = 0;
  format: ImageFormat | undefined;
  rejection: ImgdError | undefined;
  private head: Buffer[] = [];
  private headBytes = 0;
  private decided = false;

  constructor(
    private readonly limit: number,
    private readonly allowed: readonly ImageFormat[],
    private readonly probeLimits: ProbeLimits,
  ) {
    super();
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.bytes += chunk.length;
    const limit = this.format === 'svg' ? Math.min(this.limit, SVG_MAX_BYTES) : this.limit;
    if (this.bytes > limit) {
      done(new ImgdError('file_too_large', `The ${this.format === 'svg' ? 'SVG ' : ''}file is larger than the limit of ${limit} bytes.`, { limit }));
      return;
    }
    this.hash.update(chunk);
    if (!this.decided) {
      this.head.push(chunk);
      this.headBytes += chunk.length;
      if (this.headBytes < SNIFF_BYTES) {
        done();
        return;
      }
      this.decide();
      done(null, this.rejection ? undefined : Buffer.concat(this.head));
      this.head = [];
      return;
    }
    done(null, this.rejection ? undefined : chunk);
  }

  override _flush(done: TransformCallback): void {
    if (!this.decided && this.headBytes > 0) {
      this.decide();
      if (!this.rejection) this.push(Buffer.concat(this.head));
    }
    done();
  }

  private decide(): void {
    this.decided = true;
    const head = Buffer.concat(this.head);
    const format = detectFormat(head);
    this.format = format;
    if (!format) {
      this.rejection = new ImgdError('unsupported_format', 'The file is not an image in a format this server accepts.', {
        accepted: this.allowed,
      });
    } else if (!this.allowed.includes(format)) {
      this.rejection = new ImgdError('unsupported_format', `${format.toUpperCase()} images are not accepted here.`, {
        format,
        accepted: this.allowed,
      });
    } else {
      const size = declaredSize(format, head);
      try {
        if (size) checkDeclaredSize(size.width, size.height, this.probeLimits);
      } catch (err) {
        this.rejection = err as ImgdError;
      }
    }
  }
}

export interface Ingest {
  /** Streams source to a staged file. Rejects only for what ends the request (size limit, I/O). */
  stage(source: Readable, originalName: string | null, maxBytes?: number | null): Promise<StagedUpload>;
  /** Checks and publishes a staged upload; the staged file is gone afterwards either way. */
  commit(staged: StagedUpload, fields: UploadFields, owner: UploadOwner): Promise<ImageRecord>;
  /** Drops a staged upload that will not be committed; with a reason, records it as a failed attempt. */
  discard(staged: StagedUpload, reason?: ImgdError): Promise<void>;
  /** Commits several staged uploads; each one succeeds or fails on its own. */
  commitBatch(staged: readonly StagedUpload[], fields: UploadFields, owner: UploadOwner): Promise<BatchResult>;
  /** Records a failed attempt that never got as far as a staged file. */
  recordFailure(originalName: string | null, reason: ImgdError, startedAt: number, bytes?: number | null): Promise<void>;
}

export function createIngest(deps: IngestDeps): Ingest {
  const { catalog, store, limits } = deps;

  async function record(
    outcome: 'success' | 'failed',
    originalName: string | null,
    startedAt: number,
    details: { imageId?: string; error?: ImgdError; bytes?: number | null },
  ): Promise<void> {
    await catalog.recordAttempt({
      id: newId(),
      imageId: details.imageId ?? null,
      originalName: originalName?.slice(0, 255) ?? null,
      outcome,
      code: details.error?.code ?? null,
      reason: details.error?.message.slice(0, 500) ?? null,
      bytes: details.bytes ?? null,
      durationMs: performance.now() - startedAt,
      createdAt: new Date().toISOString(),
    });
    deps.onAttempt?.(outcome, details.error?.code ?? null, details.bytes ?? 0);
  }

  async function publish(
    staged: StagedUpload,
    format: ImageFormat,
    dims: { width: number; height: number; frames: number; hasAlpha: boolean },
    fields: UploadFields,
    owner: UploadOwner,
    exif: unknown,
  ): Promise<ImageRecord> {
    const key = originalKey(staged.sha256);
    const info = FORMATS[format];
    const ensureBytes = async (): Promise<void> => {
      if (await store.exists(key)) return;
      // Flushed once, here, after every rewrite (sanitizing, location) and only when the bytes are kept.
      await fsyncPath(staged.tempPath);
      await store.putFile(key, staged.tempPath);
    };
    // The bytes are in place before any row points at them.
    await ensureBytes();
    const stem = slugStem(staged.originalName ?? undefined);
    const createdAt = new Date().toISOString();
    for (let tries = 0; ; tries += 1) {
      const filename = tries === 0 ? storedName(stem, info.extension) : collisionName(stem, info.extension);
      try {
        return await catalog.insertImage(
          {
            id: newId(),
            filename,
            originalName: staged.originalName,
            sha256: staged.sha256,
            format,
            contentType: info.contentType,
            bytes: staged.bytes,
            width: dims.width,
            height: dims.height,
            frames: dims.frames,
            hasAlpha: dims.hasAlpha,
            status: deps.initialStatus,
            error: null,
            visibility: fields.visibility,
            key: fields.key,
            description: fields.description,
            ownerId: owner.ownerId,
            exif,
            createdAt,
          },
          { sha256: staged.sha256, bytes: staged.bytes, format, contentType: info.contentType, width: dims.width, height: dims.height },
          ensureBytes,
        );
      } catch (err) {
        if (!(err instanceof NameTakenError) || tries + 1 >= MAX_NAME_TRIES) throw err;
      }
    }
  }

  return {
    async stage(source, originalName, maxBytes) {
      const startedAt = performance.now();
      await mkdir(deps.stagingDir, { recursive: true });
      const tempPath = path.join(deps.stagingDir, `${randomUUID()}.part`);
      const inspector = new UploadInspector(Math.min(limits.fileSize, maxBytes ?? Infinity), deps.allowedFormats, limits);
      try {
        await pipeline(source, inspector, createWriteStream(tempPath, { flags: 'wx' }));
      } catch (err) {
        await unlink(tempPath).catch(() => undefined);
        throw err;
      }
      return {
        tempPath,
        originalName,
        sha256: inspector.hash.digest('hex'),
        bytes: inspector.bytes,
        format: inspector.format,
        rejection: inspector.bytes === 0 ? new ImgdError('empty_file', 'The file is empty.') : inspector.rejection,
        startedAt,
      };
    },

    async commit(staged, fields, owner) {
      try {
        if (staged.rejection) throw staged.rejection;
        const format = staged.format;
        if (!format) throw new ImgdError('unsupported_format', 'The file is not an image in a format this server accepts.');
        // An SVG is stored sanitized, so its hash (and dedupe) are of the sanitized bytes; librsvg only ever sees those.
        const sanitized = format === 'svg' ? await sanitizeSvgFile(staged.tempPath) : undefined;
        // Read once for both checks; small uploads (most) are then checked from memory.
        const head = await readHead(staged.tempPath);
        const dims = await probeImage(head.whole ? head.bytes : staged.tempPath, format, limits);
        const cleaned = deps.stripLocation && !sanitized ? await removeLocation(staged.tempPath, format, head) : undefined;
        const rewritten = sanitized ?? cleaned;
        const stored = rewritten ? { ...staged, sha256: rewritten.sha256, bytes: rewritten.bytes } : staged;
        const image = await publish(stored, format, dims, fields, owner, cleaned?.exif ?? null);
        await deps.onStored?.(image);
        await record('success', staged.originalName, staged.startedAt, { imageId: image.id, bytes: staged.bytes });
        return image;
      } catch (err) {
        const reason = err instanceof ImgdError ? err : new ImgdError('internal', 'The upload could not be stored.');
        await record('failed', staged.originalName, staged.startedAt, { error: reason, bytes: staged.bytes });
        throw err;
      } finally {
        await unlink(staged.tempPath).catch(() => undefined);
      }
    },

    async discard(staged, reason) {
      await unlink(staged.tempPath).catch(() => undefined);
      if (reason) await record('failed', staged.originalName, staged.startedAt, { error: reason, bytes: staged.bytes });
    },

    async commitBatch(staged, fields, owner) {
      const items: ImageRecord[] = [];
      const errors: BatchError[] = [];
      for (const one of staged) {
        try {
          items.push(await this.commit(one, fields, owner));
        } catch (err) {
          if (!(err instanceof ImgdError)) throw err;
          errors.push({ originalName: one.originalName, error: err });
        }
      }
      return { items, errors };
    },

    async recordFailure(originalName, reason, startedAt, bytes = null) {
      await record('failed', originalName, startedAt, { error: reason, bytes });
    },
  };
}
