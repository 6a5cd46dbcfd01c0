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
   * How long a record is reused while the index is not watching the database's serving version (watch()). Changes
   * made through this process forget it at once (forget/forgetAll); this bounds how long a change made elsewhere
   * (another instance, the CLI) takes to be seen here.
   */
  readonly ttlMs: number;
  /** Records held at most (a record is about 1 KB). */
  readonly max: number;
}

export const DEFAULT_SERVABLE_INDEX: ServableIndexOptions = { ttlMs: 1000, max: 20_000 };

/** How often a server reads the database's serving version (watch()): how soon it sees a change another process made. */
export const SERVING_WATCH_MS = 1000;

const keyOf = ({ filename, urlKey }: IndexedAddress): string => (urlKey === undefined ? `n:${filename}` : `k:${urlKey}`);

/** Stops a watch(). */
export type StopWatching = () => void;

/**
 * Only images found are held (an upload may give a name that was free a moment ago). Every change to an image made
 * through this process must call forget() with it (update, delete, trash, failed processing); the serving layers
 * that remember answers (the fast lane) listen with onChange and forget theirs too.
 */
export class ServableIndex {
  private readonly records: LRUCache<string, ImageRecord>;
  private readonly listeners: (() => void)[] = [];
  private generation = 0;
  private watching = false;

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
    if (image && startedAt === this.generation) this.records.set(key, image, this.watching ? { ttl: 0 } : undefined);
    return image;
  }

  /**
   * Reads the database's serving version (Catalog.servingVersion) every `everyMs` and forgets everything when it
   * moved: a change made by another process is seen within that time, and records are kept for as long as nothing
   * changes (the LRU bound only), instead of being read again after ttlMs. While the version cannot be read (the
   * database is away), the index forgets everything and falls back to ttlMs until a read succeeds.
   */
  watch(version: () => Promise<string>, everyMs: number): StopWatching {
    let last: string | undefined;
    let stopped = false;
    let timer: NodeJS.Timeout | undefined;
    const poll = async (): Promise<void> => {
      try {
        const now = await version();
        if (stopped) return;
        // The first read too: a lookup that began before it may hold a row older than it, and must not be kept.
        if (now !== last) this.forgetAll();
        last = now;
        this.watching = true;
      } catch {
        last = undefined;
        if (this.watching) {
          this.watching = false;
          this.forgetAll();
        }
      }
      if (!stopped) timer = setTimeout(() => void poll(), everyMs).unref();
    };
    void poll();
    return () => {
      stopped = true;
      this.watching = false;
      clearTimeout(timer);
    };
  }

  /** Whether records are being kept until the serving version moves (so caches built on them may keep theirs as long). */
  get lasting(): boolean {
    return this.watching;
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
