// Every change to an image made through the catalog, told to what keeps something derived from images (the servable
// index, the public tree): the one place that lists the catalog's calls that change images.
import type { Catalog } from './catalog.js';
import type { ImageRecord } from './image.js';

export type ImageChange =
  | { readonly kind: 'stored' | 'updated' | 'trashed' | 'restored' | 'deleted'; readonly image: ImageRecord }
  /** Processing failed: the catalog answers with nothing, so only the id is known. */
  | { readonly kind: 'failed'; readonly imageId: string };

export type ImageChangeListener = (change: ImageChange) => void | Promise<void>;

/**
 * The catalog with the listeners told of each change, in order, once it is stored and before the call returns: the
 * next request through this process sees it. A new way of changing images goes through here too.
 */
export function observingChanges(catalog: Catalog, listeners: readonly ImageChangeListener[]): Catalog {
  if (listeners.length === 0) return catalog;
  const tell = async (change: ImageChange): Promise<void> => {
    for (const listener of listeners) await listener(change);
  };
  const told = async (kind: Exclude<ImageChange['kind'], 'failed'>, image: ImageRecord | undefined): Promise<ImageRecord | undefined> => {
    if (image) await tell({ kind, image });
    return image;
  };
  return {
    ...catalog,
    async commitUpload(commit) {
      const committed = await catalog.commitUpload(commit);
      await tell({ kind: 'stored', image: committed.image });
      return committed;
    },
    updateImage: async (...args) => told('updated', await catalog.updateImage(...args)),
    trashImage: async (...args) => told('trashed', await catalog.trashImage(...args)),
    restoreImage: async (...args) => told('restored', await catalog.restoreImage(...args)),
    deleteImage: async (...args) => told('deleted', await catalog.deleteImage(...args)),
    async failUpload(imageId, ...rest) {
      await catalog.failUpload(imageId, ...rest);
      await tell({ kind: 'failed', imageId });
    },
  };
}
