// Albums: a user's named lists of their images, renamed, shared by a signed link, deleted (the images stay).
import { isAdmin, listScope, mayManage, requireScope, userIdOf } from '../access/policy.js';
import type { AlbumRecord, AlbumsRepo } from './albums-repo.js';
import type { Catalog } from './catalog.js';
import { ImgdError } from '../errors.js';
import { newId } from '../ids.js';
import type { Actor } from '../access/actor.js';
import type { ImageRecord, Page } from './image.js';

export const ALBUM_NAME_MAX = 200;

export interface Albums {
  create(actor: Actor, name: string): Promise<AlbumRecord>;
  get(actor: Actor, id: string): Promise<AlbumRecord>;
  list(actor: Actor, owner: string | undefined, limit: number, cursor: string | undefined): Promise<Page<AlbumRecord>>;
  rename(actor: Actor, id: string, name: string): Promise<AlbumRecord>;
  remove(actor: Actor, id: string): Promise<void>;
  /** Adds an image the actor may change (its own; any, for admins); answers whether it was not in already. */
  addImage(actor: Actor, id: string, imageId: string): Promise<boolean>;
  removeImage(actor: Actor, id: string, imageId: string): Promise<void>;
  images(actor: Actor, id: string, limit: number, cursor: string | undefined): Promise<Page<ImageRecord>>;
  /** An album the actor may share (its own, any for admins). */
  shareable(actor: Actor, id: string): Promise<AlbumRecord>;
  /** The album and its images as a signed share link shows them, with no actor: the signature was checked by the caller. */
  shared(id: string, limit: number): Promise<{ album: AlbumRecord; images: readonly ImageRecord[] } | undefined>;
}

const notFound = (id: string): ImgdError => new ImgdError('not_found', `No album ${JSON.stringify(id)}.`);

function checkName(name: string): string {
  const trimmed = name.trim();
  if (trimmed === '' || trimmed.length > ALBUM_NAME_MAX) {
    throw new ImgdError('validation_failed', `An album name is 1 to ${ALBUM_NAME_MAX} characters.`, { field: 'name' });
  }
  return trimmed;
}

/** Albums are their owner's: another user's album is not found (as someone else's private image is). */
const owns = (actor: Actor, album: AlbumRecord): boolean => isAdmin(actor) || (actor.kind === 'user' && album.ownerId === actor.user.id);

export function createAlbums(repo: AlbumsRepo, catalog: Catalog): Albums {
  async function mine(actor: Actor, id: string, scope: 'read' | 'upload'): Promise<AlbumRecord> {
    requireScope(actor, scope);
    const album = await repo.get(id);
    if (!album || !owns(actor, album)) throw notFound(id);
    return album;
  }

  /** An image the actor may put in or take out of an album; others' private images are not found. */
  async function changeable(actor: Actor, imageId: string): Promise<ImageRecord> {
    const image = await catalog.getImage(imageId);
    if (!image || !mayManage(actor, image, 'upload')) throw new ImgdError('not_found', `No image ${JSON.stringify(imageId)}.`);
    return image;
  }

  return {
    async create(actor, name) {
      requireScope(actor, 'upload');
      if (actor.kind !== 'user' && actor.kind !== 'admin') throw new ImgdError('forbidden', 'This credential cannot make albums.');
      return repo.create({ id: newId(), ownerId: userIdOf(actor), name: checkName(name), createdAt: new Date().toISOString() });
    },

    get: (actor, id) => mine(actor, id, 'read'),

    async list(actor, owner, limit, cursor) {
      return repo.list(listScope(actor, owner), limit, cursor);
    },

    async rename(actor, id, name) {
      await mine(actor, id, 'upload');
      const album = await repo.rename(id, checkName(name), new Date().toISOString());
      if (!album) throw notFound(id);
      return album;
    },

    async remove(actor, id) {
      await mine(actor, id, 'upload');
      if (!(await repo.delete(id))) throw notFound(id);
    },

    async addImage(actor, id, imageId) {
      await mine(actor, id, 'upload');
      await changeable(actor, imageId);
      return repo.add(id, imageId, new Date().toISOString());
    },

    async removeImage(actor, id, imageId) {
      await mine(actor, id, 'upload');
      if (!(await repo.remove(id, imageId))) throw new ImgdError('not_found', `No image ${JSON.stringify(imageId)} in this album.`);
    },

    async images(actor, id, limit, cursor) {
      await mine(actor, id, 'read');
      return repo.images(id, limit, cursor);
    },

    shareable: (actor, id) => mine(actor, id, 'read'),

    async shared(id, limit) {
      const album = await repo.get(id);
      if (!album) return undefined;
      return { album, images: (await repo.images(id, limit, undefined)).items };
    },
  };
}
