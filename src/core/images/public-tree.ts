// The public tree: the files a front proxy (nginx) may serve without asking imgd, one per public original's URL path.
import type { Catalog } from './catalog.js';
import type { ImageRecord } from './image.js';
import type { ImageChangeListener } from './image-changes.js';

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
 * The tree's part in `observingChanges`: every change to an image settles its entry after the change is stored (an
 * upload that commits a public image, visibility changes, trash, restore, purge, failed processing). A private image
 * never has an entry; an image that stops being public loses it before the call returns, so the next GET through the
 * proxy reaches imgd.
 */
export function publishingChanges(catalog: Pick<Catalog, 'getImage' | 'getAnyImage'>, tree: PublicTree): ImageChangeListener {
  const settle = checkedSettle(catalog, tree);
  return async (change) => {
    if (change.kind === 'failed') {
      const image = await catalog.getAnyImage(change.imageId);
      if (image) await tree.withdraw(image);
    } else if (change.kind === 'trashed' || change.kind === 'deleted') {
      await tree.withdraw(change.image);
    } else {
      await settle(change.image);
    }
  };
}
