// The one streaming pass over an upload's bytes: count and limit, hash, sniff the format, check declared sizes and
// walk the structure as they arrive; small files stay in memory, larger ones go to a staged file as they come.
import { createHash } from 'node:crypto';
import { unlink } from 'node:fs/promises';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import { ImgdError } from '../errors.js';
import { SNIFF_BYTES, declaredSize, detectFormat, type ImageFormat } from '../formats.js';
import { checkDeclaredSize } from './probe.js';
import { structureWalker, type StructureWalker } from './structure.js';
import { SVG_MAX_BYTES } from '../codecs/svg/svg-thread.js';
import type { Received, ReceiverOptions } from './received.js';
import { StagedFile } from './staged-file.js';

/** Uploads up to this size are checked and stored from memory; larger ones also keep this much of their start. */
export const HEAD_BYTES = 512 * 1024;
/** A body still arriving after this long goes to disk: slow clients do not hold memory while they trickle. */
const MEMORY_MS = 100;

export class UploadReceiver extends Writable {
  private readonly hash = createHash('sha256');
  private bytes = 0;
  private format: ImageFormat | undefined;
  private rejection: ImgdError | undefined;
  private sniffed: Buffer[] = [];
  private sniffedBytes = 0;
  private walker: StructureWalker | undefined;
  private memory: Buffer[] = [];
  private memoryBytes = 0;
  private budgeted = 0;
  private head: Buffer[] = [];
  private headBytes = 0;
  private file: StagedFile | undefined;
  private stagedPath: string | undefined;
  private readonly startedAt = performance.now();
  private readonly slow: NodeJS.Timeout;
  /** Set once the body took too long: everything goes to the staged file from then on. */
  private diskOnly = false;
  private writing = false;
  /** The move to disk the timer began between two writes, which the next write waits for. */
  private moving: Promise<void> | undefined;

  constructor(
    private readonly originalName: string | null,
    private readonly options: ReceiverOptions,
  ) {
    super({ highWaterMark: 64 * 1024 });
    this.slow = setTimeout(() => this.toDisk(), MEMORY_MS);
    this.slow.unref();
  }

  private toDisk(): void {
    if (this.rejection || this.stagedPath || this.writableFinished || this.destroyed) return;
    this.diskOnly = true;
    if (this.writing) return;
    this.moving = this.spill(undefined);
    // It fails the upload now: a client that pauses would otherwise wait for the answer until it sends again (a full
    // disk answered only when the next bytes came). A write that begins meanwhile meets the same failure.
    this.moving.catch((err: Error) => this.destroy(err));
  }

  /** Runs a step after any move to disk the timer began; one step at a time, as Writable calls them. */
  private step(work: (done: (err?: Error | null) => void) => void, done: (err?: Error | null) => void): void {
    this.writing = true;
    const finish = (err?: Error | null): void => {
      this.writing = false;
      done(err);
    };
    const moving = this.moving;
    this.moving = undefined;
    if (moving) moving.then(() => work(finish), finish);
    else work(finish);
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, done: (err?: Error | null) => void): void {
    this.step((finish) => this.take(chunk, finish), done);
  }

  private take(chunk: Buffer, done: (err?: Error | null) => void): void {
    this.bytes += chunk.length;
    const limit = this.format === 'svg' ? Math.min(this.options.limit, SVG_MAX_BYTES) : this.options.limit;
    if (this.bytes > limit) {
      done(new ImgdError('file_too_large', `The ${this.format === 'svg' ? 'SVG ' : ''}file is larger than the limit of ${limit} bytes.`, { limit }));
      return;
    }
    if (this.format === undefined && this.rejection === undefined) {
      this.sniffed.push(chunk);
      this.sniffedBytes += chunk.length;
      if (this.sniffedBytes < SNIFF_BYTES) {
        done();
        return;
      }
      const start = this.sniffedStart();
      this.decide(start);
      this.keep(start, done);
      return;
    }
    this.keep(chunk, done);
  }

  /** The chunks held until the format could be told, as one buffer: the first chunk itself when it was enough. */
  private sniffedStart(): Buffer {
    const start = this.sniffed.length === 1 ? this.sniffed[0]! : Buffer.concat(this.sniffed, this.sniffedBytes);
    this.sniffed = [];
    return start;
  }

  override _final(done: (err?: Error | null) => void): void {
    clearTimeout(this.slow);
    this.step((finish) => this.endPass(finish), done);
  }

  private endPass(done: (err?: Error | null) => void): void {
    if (this.format === undefined && this.rejection === undefined && this.sniffedBytes > 0) {
      const start = this.sniffedStart();
      this.decide(start);
      this.keep(start, (err) => (err ? done(err) : this.closeFile(done)));
      return;
    }
    this.closeFile(done);
  }

  override _destroy(err: Error | null, done: (err?: Error | null) => void): void {
    clearTimeout(this.slow);
    // A stream that finished is destroyed too (autoDestroy): what it received is kept for result().
    if (!err && this.writableFinished) {
      done(null);
      return;
    }
    this.drop();
    this.dropFile().then(
      () => done(err),
      () => done(err),
    );
  }

  /** The verdict of the pass; call once the stream has finished. */
  result(): Received {
    const refused = this.bytes === 0 ? new ImgdError('empty_file', 'The file is empty.') : this.rejection;
    const memory = refused || this.stagedPath ? undefined : Buffer.concat(this.memory, this.memoryBytes);
    const head = memory ?? Buffer.concat(this.head, this.headBytes);
    let budgeted = this.budgeted;
    this.memory = [];
    this.head = [];
    let sha256 = memory ? undefined : this.hash.digest('hex');
    return {
      originalName: this.originalName,
      startedAt: this.startedAt,
      bytes: this.bytes,
      // Held in memory, the bytes are hashed once, when known to be the ones kept (GPS removal rewrites them).
      sha256: () => (sha256 ??= createHash('sha256').update(memory!).digest('hex')),
      format: this.format,
      rejection: refused,
      memory,
      stagedPath: refused ? undefined : this.stagedPath,
      head,
      structure: this.walker?.result,
      release: () => {
        this.options.budget.give(budgeted);
        budgeted = 0;
        this.budgeted = 0;
      },
    };
  }

  private decide(start: Buffer): void {
    const format = detectFormat(start);
    const { allowed, probeLimits } = this.options;
    if (!format) {
      this.rejection = new ImgdError('unsupported_format', 'The file is not an image in a format this server accepts.', { accepted: allowed });
      return;
    }
    this.format = format;
    if (!allowed.includes(format)) {
      this.rejection = new ImgdError('unsupported_format', `${format.toUpperCase()} images are not accepted here.`, { format, accepted: allowed });
      return;
    }
    const size = declaredSize(format, start);
    try {
      if (size) checkDeclaredSize(size.width, size.height, probeLimits);
    } catch (err) {
      this.rejection = err as ImgdError;
      return;
    }
    this.walker = structureWalker(format);
  }

  /** Walks and keeps a chunk: in memory while it fits the head and the budget, else in the staged file. */
  private keep(chunk: Buffer, done: (err?: Error | null) => void): void {
    if (this.rejection) {
      this.drop();
      if (this.file || this.stagedPath) {
        this.dropFile().then(() => done(), done);
        return;
      }
      done();
      return;
    }
    this.walker?.write(chunk);
    if (this.headBytes < HEAD_BYTES) {
      const part = chunk.subarray(0, HEAD_BYTES - this.headBytes);
      this.head.push(part);
      this.headBytes += part.length;
    }
    if (!this.diskOnly && !this.stagedPath && this.memoryBytes + chunk.length <= HEAD_BYTES && this.options.budget.take(chunk.length)) {
      this.budgeted += chunk.length;
      this.memory.push(chunk);
      this.memoryBytes += chunk.length;
      done();
      return;
    }
    this.spill(chunk).then(() => done(), done);
  }

  /** Staged on disk, the bytes are hashed as they pass: the file is never read back to hash it. */
  private async spill(chunk: Buffer | undefined): Promise<void> {
    if (!this.file) {
      this.stagedPath = path.join(this.options.stagingDir, `${randomUUID()}.part`);
      this.file = await StagedFile.create(this.stagedPath);
      const held = this.memory;
      for (const part of held) this.hash.update(part);
      this.memory = [];
      this.memoryBytes = 0;
      this.options.budget.give(this.budgeted);
      this.budgeted = 0;
      if (held.length > 0) await this.file.write(Buffer.concat(held));
    }
    // The timer's move to disk: a disk with no room fails the upload now, not when the client sends more.
    if (!chunk) return this.file.flush();
    this.hash.update(chunk);
    await this.file.write(chunk);
  }

  private closeFile(done: (err?: Error | null) => void): void {
    const file = this.file;
    this.file = undefined;
    if (!file) {
      done();
      return;
    }
    file.close().then(() => done(), done);
  }

  private drop(): void {
    this.options.budget.give(this.budgeted);
    this.budgeted = 0;
    this.memory = [];
    this.memoryBytes = 0;
    this.head = [];
    this.headBytes = 0;
  }

  private async dropFile(): Promise<void> {
    const file = this.file;
    const staged = this.stagedPath;
    this.file = undefined;
    this.stagedPath = undefined;
    await file?.abandon();
    if (staged) await unlink(staged).catch(() => undefined);
  }
}
