// What the upload use case takes (its dependencies, a request) and gives (a batch to stream files into, its result).
import type { Readable } from 'node:stream';
import type { AuditEntry } from '../audit.js';
import type { Actor } from '../access/actor.js';
import type { Decoding } from '../codecs/decoding.js';
import type { ImgdError } from '../errors.js';
import type { ImageFormat } from '../formats.js';
import type { Catalog } from '../images/catalog.js';
import type { ImageRecord, Visibility } from '../images/image.js';
import type { JobRequest } from '../jobs/jobs.js';
import type { BlobStore } from '../storage/blob-store.js';
import type { UploadAttempt } from './attempts.js';
import type { ProbeLimits } from './probe.js';

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
