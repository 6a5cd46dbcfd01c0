// The product's nouns: images, upload attempts, stats and who is asking.
import type { ImageFormat } from '../config.js';

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

export interface UploadAttempt {
  readonly id: string;
  readonly imageId: string | null;
  readonly originalName: string | null;
  readonly outcome: 'success' | 'failed';
  readonly code: string | null;
  readonly reason: string | null;
  readonly bytes: number | null;
  readonly durationMs: number;
  readonly createdAt: string;
}

export interface UploadStats {
  readonly total: number;
  readonly succeeded: number;
  /** Refused when made, and accepted but failed in processing later (pixels that do not decode). */
  readonly failed: number;
  /** Refused when made only (seed 001's `failed`: an upload accepted then failed in processing is not). */
  readonly refused: number;
  /** Mean time to check and store a successful upload. */
  readonly averageDurationMs: number | null;
  /** The same over every accepted upload, those failed in processing later included (seed 001's mean). */
  readonly averageAcceptedDurationMs: number | null;
  readonly perDay: readonly DayStats[];
}

export interface DayStats {
  readonly day: string;
  readonly total: number;
  readonly failed: number;
  /** Bytes of the uploads that succeeded that day. */
  readonly bytes: number;
  /** Mean time to check and store a successful upload that day. */
  readonly averageDurationMs: number | null;
}

/** What the catalog holds: images in the library (not the trash), and the distinct stored originals (identical bytes are stored once; the trash's included). */
export interface StorageUsage {
  readonly images: number;
  readonly imageBytes: number;
  readonly blobs: number;
  readonly blobBytes: number;
}

export type Role = 'admin' | 'user';
export const ROLES: readonly Role[] = ['admin', 'user'];
export type Scope = 'read' | 'upload' | 'delete' | 'admin';
export const SCOPES: readonly Scope[] = ['read', 'upload', 'delete', 'admin'];

export interface User {
  readonly id: string;
  readonly username: string;
  readonly email: string;
  readonly role: Role;
  readonly createdAt: string;
  /** Set while an admin has disabled the account: no sign-in, and its sessions and keys are refused. */
  readonly disabledAt?: string | null;
}

/** What an upload token allows: an upload, perhaps into one key, under a size, once. */
export interface UploadGrant {
  /** The minted token's id; null for a seed HMAC token and for a profile's grant. */
  readonly tokenId: string | null;
  /**
   * Set for the open grant of a COMPAT profile without credentials (imgapi, s3_upload): the operator gave it by
   * turning the profile on, no token stands behind it, and only that profile's upload route makes it.
   */
  readonly profile?: string;
  readonly ownerId: string | null;
  readonly key: string | null;
  readonly maxBytes: number | null;
  readonly singleUse: boolean;
}

/** Who is asking, and through which credential. */
export type Actor =
  | { readonly kind: 'anonymous' }
  | { readonly kind: 'admin' }
  | {
      readonly kind: 'user';
      readonly user: User;
      /** A session (JWT) carries every scope its role has; an API key only the ones it was given. */
      readonly scopes: readonly Scope[];
      readonly apiKeyId: string | null;
      /** The browser session (cookie) the request came with; absent for bearer credentials. */
      readonly sessionId?: string;
    }
  | { readonly kind: 'upload_token'; readonly grant: UploadGrant };

export const ANONYMOUS: Actor = Object.freeze({ kind: 'anonymous' });
export const ADMIN: Actor = Object.freeze({ kind: 'admin' });

/** How an actor appears in the audit log. */
export function describeActor(actor: Actor): string {
  switch (actor.kind) {
    case 'anonymous':
      return 'anonymous';
    case 'admin':
      return 'admin-token';
    case 'user':
      return actor.apiKeyId ? `user:${actor.user.id}/key:${actor.apiKeyId}` : `user:${actor.user.id}`;
    case 'upload_token':
      if (actor.grant.profile) return `anonymous:${actor.grant.profile}`;
      return actor.grant.tokenId ? `upload-token:${actor.grant.tokenId}` : 'upload-token:hmac';
  }
}
