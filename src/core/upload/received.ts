// What an upload's streaming pass is given (its limits, the shared memory budget) and what it gives back (the bytes
// and the facts learnt on the way); the pass itself is upload-receiver.ts.
import type { ImgdError } from '../errors.js';
import type { ImageFormat } from '../formats.js';
import type { ProbeLimits } from './probe.js';
import type { StructureFacts } from './structure/walk.js';

/** Bytes all receivers together may hold in memory; past it, uploads go to disk from their first byte. */
export class MemoryBudget {
  private used = 0;
  constructor(private readonly limit: number) {}
  take(bytes: number): boolean {
    if (this.used + bytes > this.limit) return false;
    this.used += bytes;
    return true;
  }
  give(bytes: number): void {
    this.used -= bytes;
  }
}

export interface ReceiverOptions {
  readonly limit: number;
  readonly allowed: readonly ImageFormat[];
  readonly probeLimits: ProbeLimits;
  readonly stagingDir: string;
  readonly budget: MemoryBudget;
}

/** What the pass learnt; `memory` or `stagedPath` holds the bytes (neither once refused). */
export interface Received {
  readonly originalName: string | null;
  readonly startedAt: number;
  readonly bytes: number;
  /** SHA-256 of the bytes: hashed as they streamed to disk, or on the first call for uploads held in memory. */
  sha256(): string;
  readonly format: ImageFormat | undefined;
  /** A refusal decided from the content; the rest of the body was read but not kept. */
  readonly rejection: ImgdError | undefined;
  /** All the bytes, when the upload was small enough to keep in memory. */
  readonly memory: Buffer | undefined;
  readonly stagedPath: string | undefined;
  /** The first HEAD_BYTES (all of them when in memory): where the metadata of JPEG and most formats sits. */
  readonly head: Buffer;
  /** The structural walk's facts when it reached the image's end; undefined when there is no walker or it failed. */
  readonly structure: StructureFacts | undefined;
  /** Returns the memory this upload held to the shared budget; staged files are the caller's to remove. */
  release(): void;
}
