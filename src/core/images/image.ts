// The library's noun: an image as the catalog holds it, how listings filter and page it, and the storage it takes.
import type { ImageFormat } from '../formats.js';

export type Visibility = 'public' | 'private';
export type ImageStatus = 'processing' | 'ready' | 'failed';
export const VISIBILITIES: readonly Visibility[] = ['public', 'private'];
export const IMAGE_STATUSES: readonly ImageStatus[] = ['processing', 'ready', 'failed'];

export interface ImageRecord {
  readonly id: string;
  readonly filename: string;
  /** The random part of the image's URL, `/i/<urlKey>/<filename>` (IMAGE_URLS=keyed); never changes. */
  readonly urlKey: string;
  readonly originalName: string | null;
  readonly sha256: string;
  readonly format: ImageFormat;
  readonly contentType: string;
  readonly bytes: number;
  readonly width: number;
  readonly height: number;
  readonly frames: number;
  readonly hasAlpha: boolean;
  readonly status: ImageStatus;
  readonly error: string | null;
  readonly visibility: Visibility;
  readonly key: string | null;
  readonly description: string | null;
  readonly ownerId: string | null;
  readonly exif: unknown;
  readonly placeholder: string | null;
  readonly caption: string | null;
  readonly createdAt: string;
  readonly updatedAt: string;
  /** When the image went to the trash; null while it is in the library (trashed images are served nowhere). */
  readonly trashedAt: string | null;
}

/** Orders of a listing: newest or oldest first, by name (A to Z), by size (largest first). */
export type ImageSort = 'newest' | 'oldest' | 'name' | 'size';
export const IMAGE_SORTS: readonly ImageSort[] = ['newest', 'oldest', 'name', 'size'];

export interface ImageListFilter {
  readonly key?: string | undefined;
  readonly status?: ImageStatus | undefined;
  readonly ownerId?: string | undefined;
  readonly createdAfter?: string | undefined;
  readonly createdBefore?: string | undefined;
  /** Words that must each appear (case-insensitive) in the original name, stored name, key or description. */
  readonly search?: string | undefined;
  /** newest when absent. */
  readonly sort?: ImageSort | undefined;
}

export interface Page<T> {
  readonly items: readonly T[];
  readonly nextCursor: string | null;
}

/** What the catalog holds: images in the library (not the trash), and the distinct stored originals (identical bytes are stored once; the trash's included). */
export interface StorageUsage {
  readonly images: number;
  readonly imageBytes: number;
  readonly blobs: number;
  readonly blobBytes: number;
}
