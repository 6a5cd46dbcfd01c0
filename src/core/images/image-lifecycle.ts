// Where an image leaves the library and comes back: the one function each for trashed, restored and purged, so that
// whatever must hear of it (webhooks, a serving index) is told in one place.
import type { BlobStore } from '../storage/blob-store.js';
import { originalKey } from '../storage/blob-keys.js';
import type { Catalog } from './catalog.js';
import type { ImageRecord } from './image.js';

/** Told after the change is stored; a listener that throws does not undo it. */
export interface ImageEvents {
  trashed?(image: ImageRecord): void | Promise<void>;
  restored?(image: ImageRecord): void | Promise<void>;
  purged?(image: ImageRecord): void | Promise<void>;
}

export interface ImageLifecycle {
  /** The image goes to the trash, served nowhere from now on; undefined when it was not in the library. */
  trash(id: string): Promise<ImageRecord | undefined>;
  /** Back from the trash; undefined when it was not there (purged, or never trashed). */
  restore(id: string): Promise<ImageRecord | undefined>;
  /** The image goes for good, from the library or the trash; its bytes go with the blob's last reference. */
  purge(id: string): Promise<ImageRecord | undefined>;
}

export function createImageLifecycle(catalog: Catalog, store: BlobStore, events: ImageEvents = {}): ImageLifecycle {
  return {
    async trash(id) {
      const image = await catalog.trashImage(id, new Date().toISOString());
      if (image) await events.trashed?.(image);
      return image;
    },
    async restore(id) {
      const image = await catalog.restoreImage(id);
      if (image) await events.restored?.(image);
      return image;
    },
    async purge(id) {
      // Inside the catalog's transaction when this was the last reference, so a concurrent upload of the same bytes waits.
      const image = await catalog.deleteImage(id, (sha256) => store.delete(originalKey(sha256)));
      if (image) await events.purged?.(image);
      return image;
    },
  };
}
