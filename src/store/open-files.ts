// Open handles of blob files kept for a while, so reading a blob no memory cache holds is one read, not open + read + close.
import { readFileSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { LRUCache } from 'lru-cache';

interface Held {
  readonly handle: FileHandle;
  /** Reads in progress: a handle let go by the cache is closed when the last one ends. */
  users: number;
  evicted: boolean;
  closed: boolean;
}

/**
 * How many files may stay open: a quarter of the process's open-file limit (the rest is for connections, the
 * database and everything else), at most 10,000; 256 where the limit cannot be read.
 */
export function openFileBudget(limitsFile = '/proc/self/limits'): number {
  try {
    const line = readFileSync(limitsFile, 'utf8').split('\n').find((l) => l.startsWith('Max open files'));
    const soft = Number(line?.split(/\s{2,}/)[1]);
    if (Number.isFinite(soft) && soft > 0) return Math.max(0, Math.min(10_000, Math.floor(soft / 4)));
  } catch {
    // Not Linux: the conservative bound below.
  }
  return 256;
}

/**
 * Blob files never change once written (a key names its bytes), so a handle stays right for as long as the file is
 * there; deleting a blob goes through forget(), which closes its handle (once no read uses it).
 */
export class OpenFiles {
  private readonly held: LRUCache<string, Held> | undefined;
  private readonly opening = new Map<string, Promise<Held>>();

  constructor(max: number) {
    this.held =
      max > 0
        ? new LRUCache<string, Held>({
            max,
            dispose: (held) => {
              held.evicted = true;
              if (held.users === 0) OpenFiles.close(held);
            },
          })
        : undefined;
  }

  /**
   * `size` bytes of the file in one read; undefined when it holds fewer (then it is not the file expected), or when
   * its handle kept being let go before the read (the caller reads the file its own way).
   */
  async read(file: string, size: number): Promise<Buffer | undefined> {
    for (let attempt = 0; attempt < 3; attempt += 1) {
      const held = await this.acquire(file);
      // Let go and closed between its open and now (a burst of other files): open it again.
      if (held.closed) continue;
      held.users += 1;
      try {
        const bytes = Buffer.allocUnsafe(size);
        const { bytesRead } = await held.handle.read(bytes, 0, size, 0);
        return bytesRead === size ? bytes : undefined;
      } finally {
        held.users -= 1;
        if (held.evicted && held.users === 0) OpenFiles.close(held);
      }
    }
    return undefined;
  }

  /** The file is being removed: its handle goes (at once, or when the reads using it end). */
  forget(file: string): void {
    this.held?.delete(file);
  }

  get size(): number {
    return this.held?.size ?? 0;
  }

  private acquire(file: string): Promise<Held> {
    const held = this.held?.get(file);
    if (held) return Promise.resolve(held);
    let pending = this.opening.get(file);
    if (!pending) {
      pending = open(file, 'r')
        .then((handle) => {
          const fresh: Held = { handle, users: 0, evicted: false, closed: false };
          if (this.held) this.held.set(file, fresh);
          else fresh.evicted = true;
          return fresh;
        })
        .finally(() => this.opening.delete(file));
      this.opening.set(file, pending);
    }
    return pending;
  }

  private static close(held: Held): void {
    if (held.closed) return;
    held.closed = true;
    // Nothing waits for it; a failing close of a read-only handle leaves nothing to undo.
    held.handle.close().catch(() => undefined);
  }
}
