// The images behind serving URLs, held a moment in memory: a burst of GETs of one URL asks the database once.
import { LRUCache } from 'lru-cache';
import type { Catalog } from './catalog.js';
import type { ImageChangeListener } from './image-changes.js';
import type { ImageRecord } from './image.js';

/** What a URL names: its random key (keyed URLs) or its filename (IMAGE_URLS=name and the profiles' routes). */
export interface IndexedAddress {
  readonly filename: string;
  readonly urlKey?: string | undefined;
}

export interface ServableIndexOptions {
  /**
   * How long a record is reused. Changes made through this process forget it at once (forget/forgetAll); this bounds
   * how long a change made elsewhere (another instance, the CLI) takes to be seen here.
   */
  readonly ttlMs: number;
  /** Records held at most (a record is about 1 KB). */
  readonly max: number;
}

export const DEFAULT_SERVABLE_INDEX: ServableIndexOptions = { ttlMs: 1000, max: 20_000 };

const keyOf = ({ filename, urlKey }: IndexedAddress): string => (urlKey === undefined ? `n:${filename}` : `k:${urlKey}`);

/**
 * Only images found are held (an upload may give a name that was free a moment ago). Every change to an image made
 * through this process must call forget() with it (update, delete, trash, failed processing); the serving layers
 * that remember answers (the fast lane) listen with onChange and forget theirs too.
 */
export class ServableIndex {
  private readonly records: LRUCache<string, ImageRecord>;
  private readonly listeners: (() => void)[] = [];
  private generation = 0;

  constructor(
    private readonly catalog: Pick<Catalog, 'getImageByFilename' | 'getImageByUrlKey'>,
    options: ServableIndexOptions = DEFAULT_SERVABLE_INDEX,
  ) {
    this.records = new LRUCache({ max: options.max, ttl: options.ttlMs, ttlAutopurge: false });
  }

  /** The image stored under this address (the key alone for keyed URLs: the caller checks the name). */
  async find(address: IndexedAddress): Promise<ImageRecord | undefined> {
    const key = keyOf(address);
    const held = this.records.get(key);
    if (held) return held;
    const startedAt = this.generation;
    const image = address.urlKey === undefined ? await this.catalog.getImageByFilename(address.filename) : await this.catalog.getImageByUrlKey(address.urlKey);
    // A change while the database answered may have come after the row was read: not kept, asked again next time.
    if (image && startedAt === this.generation) this.records.set(key, image);
    return image;
  }

  /** This image changed or is gone: its addresses are looked up afresh, and answers remembered elsewhere dropped. */
  forget(image: IndexedAddress & { readonly urlKey: string }): void {
    this.records.delete(keyOf({ filename: image.filename, urlKey: image.urlKey }));
    this.records.delete(keyOf({ filename: image.filename }));
    this.changed();
  }

  /** Some image changed (known by id only): everything is looked up afresh. */
  forgetAll(): void {
    this.records.clear();
    this.changed();
  }

  /** Called after every forget: caches of answers built on these records drop them. */
  onChange(listener: () => void): void {
    this.listeners.push(listener);
  }

  get size(): number {
    return this.records.size;
  }

  private changed(): void {
    this.generation += 1;
    for (const listener of this.listeners) listener();
  }
}

/**
 * The index's part in `observingChanges`: every change to an image made through this process is seen by the next GET.
 * A new upload needs nothing: only images found are held.
 */
export const forgettingChanges =
  (index: ServableIndex): ImageChangeListener =>
  (change) => {
    if (change.kind === 'failed') index.forgetAll();
    else if (change.kind !== 'stored') index.forget(change.image);
  };
