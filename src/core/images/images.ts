// Reading, listing, changing and deleting images, with the access policy applied.
import { listScope, mayManage, mayView, requireScope } from '../access/policy.js';
import type { BlobStore } from '../storage/blob-store.js';
import type { ImageLifecycle } from './image-lifecycle.js';
import type { Catalog, ImagePatch } from './catalog.js';
import { ImgdError } from '../errors.js';
import { isUrlKey } from '../ids.js';
import { ServableIndex } from './servable-index.js';
import type { Actor } from '../access/actor.js';
import type { ImageListFilter, ImageRecord, Page } from './image.js';

/**
 * What a URL names: a filename alone (IMAGE_URLS=name, and the profiles' own routes), or the random key of a keyed
 * URL with the filename beside it, which must be the image's too.
 */
export interface ImageAddress {
  readonly filename: string;
  readonly urlKey?: string | undefined;
}

export interface Images {
  get(actor: Actor, id: string): Promise<ImageRecord>;
  list(actor: Actor, filter: ImageListFilter, limit: number, cursor: string | undefined): Promise<Page<ImageRecord>>;
  update(actor: Actor, id: string, patch: ImagePatch): Promise<ImageRecord>;
  /** Deletes at once and for good (the compatibility profiles' deletes, `?permanent=true`), not to the trash. */
  remove(actor: Actor, id: string): Promise<void>;
  /**
   * An image the actor may delete (or trash): its own, any for admins. Someone else's private image is not found;
   * someone else's public one is forbidden.
   */
  deletable(actor: Actor, id: string): Promise<ImageRecord>;
  /** An image the actor may hand out a share link for (the owner's or any, for admins). */
  shareable(actor: Actor, id: string): Promise<ImageRecord>;
  /** The image behind a URL, if this actor may see it or `shared` vouches for it. */
  findServable(actor: Actor, address: ImageAddress, shared?: (image: ImageRecord) => boolean): Promise<ImageRecord>;
}

const notFound = (what: string): ImgdError => new ImgdError('not_found', `No image ${what}.`);
/** Only for images the actor can see anyway (public ones): hiding them would not hide anything. */
const forbidden = (): ImgdError => new ImgdError('forbidden', 'Only the owner or an admin may change this image.');

/** `servable`: where serving looks images up (held a moment in memory); changes made through `catalog` must forget there. */
export function createImages(catalog: Catalog, store: BlobStore, lifecycle: ImageLifecycle, servable: ServableIndex = new ServableIndex(catalog)): Images {
  /** A keyed URL with a wrong name finds nothing, exactly as a wrong key does: the answer says nothing of the real name. */
  async function lookUp(filename: string, urlKey: string | undefined): Promise<ImageRecord | undefined> {
    if (urlKey !== undefined && !isUrlKey(urlKey)) return undefined;
    const image = await servable.find({ filename, urlKey });
    return image?.filename === filename ? image : undefined;
  }

  /**
   * Images the actor may not see are reported as absent, so ids cannot be probed. `manage` names the scope of
   * the operation: an owner's key with that scope but without `read` (e.g. a delete-only key) still finds its
   * own private images, as mayManage allows it to change them.
   */
  async function visible(actor: Actor, id: string, manage?: 'upload' | 'delete'): Promise<ImageRecord> {
    const image = await catalog.getImage(id);
    if (!image || !(mayView(actor, image) || (manage !== undefined && mayManage(actor, image, manage)))) throw notFound(JSON.stringify(id));
    return image;
  }

  async function deletable(actor: Actor, id: string): Promise<ImageRecord> {
    requireScope(actor, 'delete');
    const image = await visible(actor, id, 'delete');
    if (!mayManage(actor, image, 'delete')) throw forbidden();
    return image;
  }

  return {
    async get(actor, id) {
      requireScope(actor, 'read');
      return visible(actor, id);
    },

    async list(actor, filter, limit, cursor) {
      const scope = listScope(actor, filter.ownerId);
      return catalog.listImages({ ...filter, ...scope }, limit, cursor);
    },

    async update(actor, id, patch) {
      requireScope(actor, 'upload');
      const image = await visible(actor, id, 'upload');
      if (!mayManage(actor, image, 'upload')) throw forbidden();
      const updated = await catalog.updateImage(id, patch);
      if (!updated) throw notFound(JSON.stringify(id));
      return updated;
    },

    deletable,

    async remove(actor, id) {
      await deletable(actor, id);
      if (!(await lifecycle.purge(id))) throw notFound(JSON.stringify(id));
    },

    async shareable(actor, id) {
      requireScope(actor, 'read');
      const image = await visible(actor, id);
      if (!mayManage(actor, image, 'upload')) throw forbidden();
      return image;
    },

    async findServable(actor, { filename, urlKey }, shared) {
      const image = await lookUp(filename, urlKey);
      if (!image || !(mayView(actor, image) || shared?.(image))) throw notFound(JSON.stringify(filename));
      // Processing found its pixels unreadable: the bytes are not an image after all.
      if (image.status === 'failed') throw new ImgdError('not_found', `Image ${JSON.stringify(filename)} could not be processed (${image.error ?? 'failed'}) and is not served.`);
      return image;
    },
  };
}
