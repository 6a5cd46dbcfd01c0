// A staged upload written behind the stream: chunks queue while a write is on its way to the disk and go down together.
import { open, type FileHandle } from 'node:fs/promises';

/** Bytes queued before a write waits for the disk: the most an upload holds in memory beyond what it is writing. */
const MAX_QUEUED = 1024 * 1024;
/** Buffers per writev call, well under the system's IOV_MAX (1024 on Linux). */
const MAX_BATCH = 256;

/**
 * One write per chunk of 64 KiB cost a 50 MB upload 800 trips through the thread pool; gathered, the same bytes take
 * a few dozen `writev` calls, at about a third of the CPU time. A failed write fails the next `write`, `flush` or
 * `close`; the chunks given are kept by reference until written, so they must not be reused by the caller.
 */
export class StagedFile {
  private queue: Buffer[] = [];
  private queued = 0;
  private writing: Promise<void> | undefined;
  private failure: Error | undefined;

  private constructor(private readonly file: FileHandle) {}

  /** Creates the file; by default it must not exist. */
  static async create(path: string, flags = 'wx'): Promise<StagedFile> {
    return new StagedFile(await open(path, flags));
  }

  /** Queues the bytes; waits only while more than MAX_QUEUED bytes are waiting for the disk. */
  async write(chunk: Buffer): Promise<void> {
    if (this.failure) throw this.failure;
    if (chunk.length === 0) return;
    this.queue.push(chunk);
    this.queued += chunk.length;
    this.writing ??= this.drain();
    if (this.queued >= MAX_QUEUED) await this.flush();
  }

  /** Resolves when everything queued is written; rejects with the error of a write that failed. */
  async flush(): Promise<void> {
    await this.writing;
    if (this.failure) throw this.failure;
  }

  /** Writes what is queued, then closes the file: rejects if a write failed (the file is closed all the same). */
  async close(): Promise<void> {
    try {
      await this.flush();
    } finally {
      await this.file.close();
    }
  }

  /** Closes the file without caring for what was queued or failed (the upload is abandoned). */
  async abandon(): Promise<void> {
    await this.writing;
    await this.file.close().catch(() => undefined);
  }

  private async drain(): Promise<void> {
    try {
      while (this.queue.length > 0 && !this.failure) {
        const batch = this.queue.splice(0, MAX_BATCH);
        for (const chunk of batch) this.queued -= chunk.length;
        await writeAll(this.file, batch);
      }
    } catch (err) {
      this.failure = err as Error;
      this.queue = [];
      this.queued = 0;
    } finally {
      this.writing = undefined;
    }
  }
}

/** writev may write less than asked (a full disk on the way); the rest is written on, or the error surfaces. */
async function writeAll(file: FileHandle, buffers: Buffer[]): Promise<void> {
  let rest = buffers;
  while (rest.length > 0) {
    const { bytesWritten } = await file.writev(rest);
    if (bytesWritten === 0) throw new Error('the staged file took no bytes');
    rest = after(rest, bytesWritten);
  }
}

function after(buffers: Buffer[], written: number): Buffer[] {
  let left = written;
  let i = 0;
  while (i < buffers.length && left >= buffers[i]!.length) left -= buffers[i++]!.length;
  const rest = buffers.slice(i);
  if (left > 0) rest[0] = rest[0]!.subarray(left);
  return rest;
}
