// Who is asking, through which credential, with which scopes.
import type { User } from '../accounts/user.js';

export type Scope = 'read' | 'upload' | 'delete' | 'admin';
export const SCOPES: readonly Scope[] = ['read', 'upload', 'delete', 'admin'];

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
