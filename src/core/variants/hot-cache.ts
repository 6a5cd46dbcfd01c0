// An in-memory LRU of small, hot blobs (public originals and rendered variants), so serving them touches no disk.
import { LRUCache } from 'lru-cache';

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
  private readonly entries: LRUCache<string, HotBlob> | undefined;
  private readonly loading = new Map<string, Promise<HotBlob>>();

  constructor(private readonly limits: HotCacheLimits = DEFAULT_HOT_CACHE) {
    this.entries =
      limits.maxBytes > 0
        ? new LRUCache({ maxSize: limits.maxBytes, maxEntrySize: limits.maxItemBytes, sizeCalculation: (blob) => Math.max(1, blob.body.length) })
        : undefined;
  }

  /** Whether a blob of this size would be kept. */
  admits(size: number): boolean {
    return this.entries !== undefined && size <= this.limits.maxItemBytes;
  }

  get(key: string): HotBlob | undefined {
    return this.entries?.get(key);
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
          if (this.admits(body.length)) this.entries?.set(key, blob);
          return blob;
        })
        .finally(() => this.loading.delete(key));
      this.loading.set(key, pending);
    }
    return pending;
  }

  /**
   * Keeps a blob read elsewhere only when the cache has room for it without letting anything go. For reads that repeat
   * over a set of files larger than the cache: replacing one blob with another on each read keeps the heap's external
   * memory churning through long-lived buffers, and V8 marks the whole heap again and again (measured in S4b: four GC
   * threads busy, half the throughput lost).
   */
  keepIfRoom(key: string, blob: HotBlob): void {
    if (this.entries && this.admits(blob.body.length) && this.entries.calculatedSize + blob.body.length <= this.limits.maxBytes) this.entries.set(key, blob);
  }

  get size(): { readonly items: number; readonly bytes: number } {
    return { items: this.entries?.size ?? 0, bytes: this.entries?.calculatedSize ?? 0 };
  }
}
