// The catalog: what the core needs from the metadata database (implemented in db/).
import type { AuditEntry } from '../audit.js';
import type { JobRequest } from '../jobs/jobs.js';
import type { StepRun } from '../jobs/processing.js';
import type { ImageEventType } from '../webhooks/webhooks.js';
import type { UploadAttempt, UploadStats } from '../upload/attempts.js';
import type { ImageListFilter, ImageRecord, Page, StorageUsage } from './image.js';

export interface BlobFacts {
  readonly sha256: string;
  readonly bytes: number;
  readonly format: string;
  readonly contentType: string;
  readonly width: number;
  readonly height: number;
}

export type NewImage = Omit<ImageRecord, 'placeholder' | 'caption' | 'updatedAt' | 'trashedAt'>;

/** Everything an accepted upload writes, in one transaction. */
export interface UploadCommit {
  readonly image: Omit<NewImage, 'filename'>;
  /** The filename to try first (attempt 0), then again while the one returned is taken (a few times at most). */
  readonly filename: (attempt: number) => string;
  readonly blob: BlobFacts;
  readonly jobs: readonly JobRequest[];
  readonly attempt: UploadAttempt;
  readonly audit: AuditEntry | null;
  /** Processing steps done at ingest (the EXIF read), for the per-step stats. */
  readonly steps: readonly StepRun[];
}

export interface CommittedUpload {
  readonly image: ImageRecord;
  /** True when this upload created the blob's row: no other image referred to these bytes. */
  readonly firstReference: boolean;
}

export type ImagePatch = Partial<Pick<ImageRecord, 'description' | 'visibility' | 'key' | 'status' | 'error' | 'exif' | 'placeholder' | 'caption'>>;

export interface Catalog {
  /**
   * In one transaction: a reference on the blob row (created at 1), the image row, its jobs, its image.created
   * webhook deliveries, the attempt record and the audit entry. Concurrent commits may share the transaction (and its fsync); each succeeds or fails alone.
   * Rejects with NameTakenError when every filename tried was in use.
   */
  commitUpload(commit: UploadCommit): Promise<CommittedUpload>;
  /** Whether an image refers to these bytes (so they are in the store: bytes are written before their row). */
  blobStored(sha256: string): Promise<boolean>;
  /** An image in the library (not in the trash): what every read and serving path sees. */
  getImage(id: string): Promise<ImageRecord | undefined>;
  /** An image whether in the trash or not: for background work on it (processing), never for serving. */
  getAnyImage(id: string): Promise<ImageRecord | undefined>;
  /** An image in the trash. */
  getTrashedImage(id: string): Promise<ImageRecord | undefined>;
  /**
   * Moves an image in the library to the trash; undefined when it is not there (already trashed, or gone). From this
   * moment no read above finds it, so nothing serves it; its row, blob reference and bytes stay until it is purged.
   */
  trashImage(id: string, at: string): Promise<ImageRecord | undefined>;
  /** Brings an image in the trash back to the library; undefined when it is not in the trash (purged, or never trashed). */
  restoreImage(id: string): Promise<ImageRecord | undefined>;
  /** The trash, most recently trashed first; `ownerId` limits it to one owner's images. */
  listTrash(filter: { readonly ownerId?: string | undefined }, limit: number, cursor: string | undefined): Promise<Page<ImageRecord>>;
  /** Ids of images trashed before `before` (ISO time), at most `limit`. */
  expiredTrash(before: string, limit: number): Promise<string[]>;
  getImageByFilename(filename: string): Promise<ImageRecord | undefined>;
  getImageByUrlKey(urlKey: string): Promise<ImageRecord | undefined>;
  listImages(filter: ImageListFilter, limit: number, cursor: string | undefined): Promise<Page<ImageRecord>>;
  /** `event`: the change is that event (image.processed, image.failed), recorded for webhooks in the same transaction. */
  updateImage(id: string, patch: ImagePatch, event?: ImageEventType): Promise<ImageRecord | undefined>;
  /**
   * Purges the image (in the trash or not): deletes it and drops its blob reference in one transaction (with its image.deleted event unless it was in the trash already); `onLast` runs inside it
   * when that was the last reference, so a concurrent upload of the same bytes waits for it.
   */
  deleteImage(id: string, onLast: (sha256: string) => Promise<void>): Promise<ImageRecord | undefined>;
  recordAttempt(attempt: UploadAttempt): Promise<void>;
  /** An upload accepted at first whose content later proved unreadable: its image failed (image.failed), and its attempt with it. */
  failUpload(imageId: string, code: string, reason: string): Promise<void>;
  uploadStats(days: number): Promise<UploadStats>;
  storageUsage(): Promise<StorageUsage>;
  /** The subset of sha256s that have a blob row (garbage collection keeps their bytes). */
  knownBlobs(sha256s: readonly string[]): Promise<Set<string>>;
  check(): Promise<void>;
  /**
   * A value that moves whenever what serving reads of an image changes (its addresses, bytes, visibility, trash,
   * failure, deletion), made by any process on this database: a change elsewhere is known by reading it.
   */
  servingVersion(): Promise<string>;
}

export class NameTakenError extends Error {
  override name = 'NameTakenError';
}
