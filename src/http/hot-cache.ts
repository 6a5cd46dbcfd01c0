// An in-memory LRU of small, hot blobs (public originals and rendered variants), so serving them touches no disk.

/**
 * Entries are keyed by blob key. The bytes under a key never change (originals are named by their SHA-256,
 * variants by the original's hash and the canonical options), so an entry can never be stale: deleting an
 * image or making it private is enforced by the access check that runs before every lookup, not here.
 */
export interface HotBlob {
  readonly body: Buffer;
  readonly contentType: string;
  readonly etag: string;
}

export interface HotCacheLimits {
  /** Bytes held in all, at most. */
  readonly maxBytes: number;
  /** Larger blobs are streamed from the store instead. */
  readonly maxItemBytes: number;
}

export const DEFAULT_HOT_CACHE: HotCacheLimits = { maxBytes: 64 * 1024 * 1024, maxItemBytes: 1024 * 1024 };

export class HotCache {
  private readonly entries = new Map<string, HotBlob>();
  private readonly loading = new Map<string, Promise<HotBlob>>();
  private bytes = 0;

  constructor(private readonly limits: HotCacheLimits = DEFAULT_HOT_CACHE) {}

  /** Whether a blob of this size would be kept. */
  admits(size: number): boolean {
    return size <= this.limits.maxItemBytes && this.limits.maxBytes > 0;
  }

  get(key: string): HotBlob | undefined {
    const entry = this.entries.get(key);
    if (entry) {
      // Map order is insertion order: moving a hit to the end makes the first entry the least recently used.
      this.entries.delete(key);
      this.entries.set(key, entry);
    }
    return entry;
  }

  /** The cached blob, or the store's bytes read once (however many ask at the same time) and kept. */
  async load(key: string, meta: Omit<HotBlob, 'body'>, read: () => Promise<Buffer>): Promise<HotBlob> {
    const hit = this.get(key);
    if (hit) return hit;
    let pending = this.loading.get(key);
    if (!pending) {
      pending = read()
        .then((body) => {
          const blob: HotBlob = { ...meta, body };
          this.put(key, blob);
          return blob;
        })
        .finally(() => this.loading.delete(key));
      this.loading.set(key, pending);
    }
    return pending;
  }

  private put(key: string, blob: HotBlob): void {
    if (!this.admits(blob.body.length) || this.entries.has(key)) return;
    this.entries.set(key, blob);
    this.bytes += blob.body.length;
    for (const [oldest, entry] of this.entries) {
      if (this.bytes <= this.limits.maxBytes) break;
      this.entries.delete(oldest);
      this.bytes -= entry.body.length;
    }
  }

  get size(): { readonly items: number; readonly bytes: number } {
    return { items: this.entries.size, bytes: this.bytes };
  }
}
