// The catalog: what the core needs from the metadata database (implemented in db/).
import type { ImageListFilter, ImageRecord, Page, StorageUsage, UploadAttempt, UploadStats } from './types.js';

export interface BlobFacts {
  readonly sha256: string;
  readonly bytes: number;
  readonly format: string;
  readonly contentType: string;
  readonly width: number;
  readonly height: number;
}

export type NewImage = Omit<ImageRecord, 'placeholder' | 'caption' | 'updatedAt'>;

export type ImagePatch = Partial<Pick<ImageRecord, 'description' | 'visibility' | 'key' | 'status' | 'error' | 'exif' | 'placeholder' | 'caption'>>;

export interface Catalog {
  /**
   * In one transaction: takes a reference on the blob row (creating it at 1) and inserts the image.
   * When the row is new, `ensureBytes` runs inside the transaction, so bytes a concurrent delete
   * just removed are written again. Rejects with NameTakenError when the filename is in use.
   */
  insertImage(image: NewImage, blob: BlobFacts, ensureBytes: () => Promise<void>): Promise<ImageRecord>;
  getImage(id: string): Promise<ImageRecord | undefined>;
  getImageByFilename(filename: string): Promise<ImageRecord | undefined>;
  listImages(filter: ImageListFilter, limit: number, cursor: string | undefined): Promise<Page<ImageRecord>>;
  updateImage(id: string, patch: ImagePatch): Promise<ImageRecord | undefined>;
  /**
   * Deletes the image and drops its blob reference in one transaction; `onLast` runs inside it
   * when that was the last reference, so a concurrent upload of the same bytes waits for it.
   */
  deleteImage(id: string, onLast: (sha256: string) => Promise<void>): Promise<ImageRecord | undefined>;
  recordAttempt(attempt: UploadAttempt): Promise<void>;
  uploadStats(days: number): Promise<UploadStats>;
  storageUsage(): Promise<StorageUsage>;
  /** The subset of sha256s that have a blob row (garbage collection keeps their bytes). */
  knownBlobs(sha256s: readonly string[]): Promise<Set<string>>;
  check(): Promise<void>;
}

export class NameTakenError extends Error {
  override name = 'NameTakenError';
}
