// Bulk operations on a selection of images: each image is done on its own, and each gets its own result.
import { requireAuthenticated } from '../access/policy.js';
import type { Albums } from './albums.js';
import { ImgdError, isImgdError, isServiceFault, type ErrorCode } from '../errors.js';
import type { Images } from './images.js';
import type { Trash } from './trash.js';
import type { Actor } from '../access/actor.js';
import type { Visibility } from './image.js';

export const BULK_ACTIONS = ['trash', 'restore', 'purge', 'set_visibility', 'add_to_album', 'remove_from_album'] as const;
export type BulkAction = (typeof BULK_ACTIONS)[number];
export const BULK_MAX = 500;

export interface BulkRequest {
  readonly action: BulkAction;
  readonly ids: readonly string[];
  readonly visibility?: Visibility | undefined;
  readonly albumId?: string | undefined;
}

export interface BulkResult {
  readonly id: string;
  readonly ok: boolean;
  /** Why this image's operation was refused (the HTTP layer gives it the status it would have answered alone). */
  readonly code?: ErrorCode;
  readonly detail?: string;
}

export interface BulkDeps {
  readonly images: Images;
  readonly trash: Trash;
  readonly albums: Albums;
}

/** Refused as a whole (nothing done) when the request itself is wrong: a missing parameter, an album not the actor's. */
async function check(deps: BulkDeps, actor: Actor, request: BulkRequest): Promise<void> {
  requireAuthenticated(actor);
  if (request.action === 'set_visibility' && request.visibility === undefined) {
    throw new ImgdError('validation_failed', 'set_visibility needs `visibility` (public or private).', { field: 'visibility' });
  }
  if (request.action === 'add_to_album' || request.action === 'remove_from_album') {
    if (request.albumId === undefined) throw new ImgdError('validation_failed', `${request.action} needs \`album_id\`.`, { field: 'album_id' });
    await deps.albums.get(actor, request.albumId);
  }
}

function one(deps: BulkDeps, actor: Actor, request: BulkRequest, id: string): Promise<unknown> {
  switch (request.action) {
    case 'trash':
      return deps.trash.moveToTrash(actor, id);
    case 'restore':
      return deps.trash.restore(actor, id);
    case 'purge':
      return deps.trash.purge(actor, id);
    case 'set_visibility':
      return deps.images.update(actor, id, { visibility: request.visibility! });
    case 'add_to_album':
      return deps.albums.addImage(actor, request.albumId!, id);
    case 'remove_from_album':
      return deps.albums.removeImage(actor, request.albumId!, id);
  }
}

/** Runs the action on every image in turn; an image's refusal is its result, not the request's. */
export async function runBulk(deps: BulkDeps, actor: Actor, request: BulkRequest, onDone?: (id: string) => Promise<void>): Promise<BulkResult[]> {
  await check(deps, actor, request);
  const results: BulkResult[] = [];
  for (const id of new Set(request.ids)) {
    try {
      await one(deps, actor, request, id);
      await onDone?.(id);
      results.push({ id, ok: true });
    } catch (err) {
      if (!isImgdError(err) || isServiceFault(err.code)) throw err;
      results.push({ id, ok: false, code: err.code, detail: err.message });
    }
  }
  return results;
}
