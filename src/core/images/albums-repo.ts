// What the album use cases need from the metadata database (implemented in db/albums.ts).
import type { ImageRecord, Page } from './image.js';

export interface AlbumRecord {
  readonly id: string;
  /** null: made with the admin token. */
  readonly ownerId: string | null;
  readonly name: string;
  /** Images in the library (trashed ones are left out until restored). */
  readonly imageCount: number;
  /** The newest image in it, for a cover. */
  readonly coverImageId: string | null;
  readonly createdAt: string;
  readonly updatedAt: string;
}

export interface AlbumsRepo {
  create(album: { id: string; ownerId: string | null; name: string; createdAt: string }): Promise<AlbumRecord>;
  get(id: string): Promise<AlbumRecord | undefined>;
  /** Newest first; `ownerId` undefined lists every album. */
  list(filter: { readonly ownerId?: string | undefined }, limit: number, cursor: string | undefined): Promise<Page<AlbumRecord>>;
  rename(id: string, name: string, at: string): Promise<AlbumRecord | undefined>;
  /** The album and its list of images go; the images stay. */
  delete(id: string): Promise<boolean>;
  /** Adds the image unless it is in already; answers whether it was added now. */
  add(albumId: string, imageId: string, at: string): Promise<boolean>;
  remove(albumId: string, imageId: string): Promise<boolean>;
  /** Its images in the library, newest first. */
  images(albumId: string, limit: number, cursor: string | undefined): Promise<Page<ImageRecord>>;
}
