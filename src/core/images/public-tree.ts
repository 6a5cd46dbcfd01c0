// The public tree: the files a front proxy (nginx) may serve without asking imgd, one per public original's URL path.
import type { Catalog } from './catalog.js';
import type { ImageRecord } from './image.js';

/** Kept in step with the catalog by `publishingChanges`; each call settles one image from what its record says now. */
export interface PublicTree {
  /** The image's entry made or removed, as `servedPublicly` says of this record. */
  settle(image: ImageRecord): Promise<void>;
  /** The image is gone (purged, failed): its entry removed. */
  withdraw(image: ImageRecord): Promise<void>;
}

/**
 * Whether anyone may GET the original without a credential, so a proxy may serve it from the tree: public, in the
 * library (not in the trash), not failed (an image still processing is served by imgd already, so by the tree too).
 */
export const servedPublicly = (image: ImageRecord): boolean => image.visibility === 'public' && image.trashedAt === null && image.status !== 'failed';

/**
 * Settles an image from its record, which may be overtaken: another change (a job's, a request's, another process's)
 * stored after it and withdrawn before this link. Read again once linked: whatever changed before the read is seen
 * here, whatever changes after it withdraws the entry itself.
 */
export function checkedSettle(catalog: Pick<Catalog, 'getImage'>, tree: PublicTree): (image: ImageRecord) => Promise<void> {
  return async (image) => {
    await tree.settle(image);
    if (!servedPublicly(image)) return;
    const now = await catalog.getImage(image.id);
    if (!now || !servedPublicly(now)) await tree.withdraw(image);
  };
}

/**
 * The catalog with every change to an image settling its tree entry after the change is stored: an upload that
 * commits a public image, visibility changes, trash, restore, purge and failed processing. A private image never has
 * an entry; an image that stops being public loses it before the call returns, so the next GET through the proxy
 * reaches imgd.
 */
export function publishingChanges(catalog: Catalog, tree: PublicTree): Catalog {
  const settle = checkedSettle(catalog, tree);
  return {
    ...catalog,
    async commitUpload(...args) {
      const committed = await catalog.commitUpload(...args);
      await settle(committed.image);
      return committed;
    },
    async updateImage(...args) {
      const image = await catalog.updateImage(...args);
      if (image) await settle(image);
      return image;
    },
    async deleteImage(...args) {
      const image = await catalog.deleteImage(...args);
      if (image) await tree.withdraw(image);
      return image;
    },
    async trashImage(...args) {
      const image = await catalog.trashImage(...args);
      if (image) await tree.withdraw(image);
      return image;
    },
    async restoreImage(...args) {
      const image = await catalog.restoreImage(...args);
      if (image) await settle(image);
      return image;
    },
    async failUpload(imageId, ...rest) {
      await catalog.failUpload(imageId, ...rest);
      const image = await catalog.getAnyImage(imageId);
      if (image) await tree.withdraw(image);
    },
  };
}
