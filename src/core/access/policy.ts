// Who may do what: the one place access rules are decided.
import { ImgdError } from '../errors.js';
import type { UploadFields } from '../upload/fields.js';
import type { Actor, Scope } from './actor.js';
import type { ImageRecord } from '../images/image.js';

export function requireAuthenticated(actor: Actor): void {
  if (actor.kind === 'anonymous') throw new ImgdError('unauthorized', 'This needs a credential: send Authorization: Bearer <token>.');
}

/** The bootstrap token, or an admin user's session or admin-scoped key. */
export function isAdmin(actor: Actor): boolean {
  return actor.kind === 'admin' || (actor.kind === 'user' && actor.user.role === 'admin' && actor.scopes.includes('admin'));
}

export function hasScope(actor: Actor, scope: Scope): boolean {
  switch (actor.kind) {
    case 'admin':
      return true;
    case 'user':
      return actor.scopes.includes(scope) || (scope !== 'admin' && isAdmin(actor));
    case 'upload_token':
      return scope === 'upload';
    case 'anonymous':
      return false;
  }
}

export function requireScope(actor: Actor, scope: Scope): void {
  requireAuthenticated(actor);
  if (!hasScope(actor, scope)) throw new ImgdError('forbidden', `This credential lacks the "${scope}" scope.`, { scope });
}

export function canUpload(actor: Actor): void {
  requireScope(actor, 'upload');
}

export function requireAdmin(actor: Actor): void {
  requireAuthenticated(actor);
  if (!isAdmin(actor)) throw new ImgdError('forbidden', 'Only an admin may do this.');
}

/**
 * Whose a resumable upload or an Idempotency-Key is: a user (any of their sessions and keys), the admin token, or one
 * upload token (seed 003's `ts.sig` tokens, which change every few minutes, count as one).
 */
export function principalOf(actor: Actor): string {
  switch (actor.kind) {
    case 'user':
      return `user:${actor.user.id}`;
    case 'admin':
      return 'admin';
    case 'upload_token':
      return `upload-token:${actor.grant.tokenId ?? 'hmac'}`;
    case 'anonymous':
      return 'anonymous';
  }
}

/** The user an actor acts as, if any. */
export function userIdOf(actor: Actor): string | null {
  return actor.kind === 'user' ? actor.user.id : null;
}

const owns = (actor: Actor, image: ImageRecord): boolean => actor.kind === 'user' && image.ownerId !== null && image.ownerId === actor.user.id;

/** Whether the actor may see this image's bytes and metadata. */
export function mayView(actor: Actor, image: ImageRecord): boolean {
  if (image.visibility === 'public' || isAdmin(actor)) return true;
  return owns(actor, image) && hasScope(actor, 'read');
}

/** Location in EXIF is for the owner and admins only (privacy by default). */
export function maySeeLocation(actor: Actor, image: ImageRecord): boolean {
  return isAdmin(actor) || owns(actor, image);
}

/** Whether the actor may change (scope upload) or delete (scope delete) this image. */
export function mayManage(actor: Actor, image: ImageRecord, scope: 'upload' | 'delete'): boolean {
  if (isAdmin(actor)) return true;
  return owns(actor, image) && hasScope(actor, scope);
}

/** The owner filter a listing is limited to; undefined means all images (admins). */
export function listScope(actor: Actor, requestedOwner: string | undefined): { ownerId?: string } {
  requireScope(actor, 'read');
  if (isAdmin(actor)) return requestedOwner === undefined ? {} : { ownerId: requestedOwner };
  const own = userIdOf(actor);
  if (own === null) throw new ImgdError('forbidden', 'This credential cannot list images.');
  return { ownerId: own };
}

export interface UploadTerms {
  readonly ownerId: string | null;
  readonly fields: UploadFields;
  /** A tighter size limit than the server's, from an upload token. */
  readonly maxBytes: number | null;
}

/** What an upload by this actor becomes: whose it is, into which key, and how large it may be. */
export function uploadTerms(actor: Actor, fields: UploadFields): UploadTerms {
  canUpload(actor);
  if (actor.kind !== 'upload_token') return { ownerId: userIdOf(actor), fields, maxBytes: null };
  const { grant } = actor;
  if (grant.key !== null && fields.key !== null && fields.key !== grant.key) {
    throw new ImgdError('forbidden', `This upload token only uploads into key ${JSON.stringify(grant.key)}.`, { key: grant.key });
  }
  return { ownerId: grant.ownerId, fields: { ...fields, key: grant.key ?? fields.key }, maxBytes: grant.maxBytes };
}
