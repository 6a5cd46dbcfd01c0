// A structural walk of JPEG, PNG, GIF and WebP as the bytes stream in: segments, chunks and blocks from the first
// byte to the end marker, without decoding a pixel. What it proves and what it leaves to the decode: README,
// "How uploads are checked and stored".
import { crc32 } from 'node:zlib';
import type { ImageFormat } from '../formats.js';
import { walkGif } from './structure/gif.js';
import { walkJpeg } from './structure/jpeg.js';
import { walkPng } from './structure/png.js';
import { Malformed, type StructureFacts, type Walk, type Want } from './structure/walk.js';
import { walkWebp } from './structure/webp.js';

/** Feeds chunks to a walk as they arrive; `end()` tells whether the image was complete. */
export class StructureWalker {
  private readonly walk: Walk;
  private want: Want | undefined;
  private held: Buffer[] = [];
  private heldBytes = 0;
  private skipLeft = 0;
  private crc = 0;
  /** A 0xFF ended the last chunk inside entropy-coded data. */
  private scanFf = false;
  private offset = 0;
  private facts: StructureFacts | undefined;
  private failure: string | undefined;

  constructor(walk: Walk) {
    this.walk = walk;
    this.advance(undefined);
  }

  /** Facts once the image's end was seen; the walk failed or is incomplete otherwise. */
  get result(): StructureFacts | undefined {
    return this.facts;
  }

  /** Why the walk stopped, when it found the bytes malformed. */
  get problem(): string | undefined {
    return this.failure;
  }

  write(chunk: Buffer): void {
    let at = 0;
    while (at < chunk.length && this.want && !this.failure) {
      const want = this.want;
      if ('read' in want) {
        const take = Math.min(want.read - this.heldBytes, chunk.length - at);
        this.held.push(chunk.subarray(at, at + take));
        this.heldBytes += take;
        at += take;
        if (this.heldBytes === want.read) {
          const bytes = this.held.length === 1 ? this.held[0]! : Buffer.concat(this.held);
          this.held = [];
          this.heldBytes = 0;
          this.offset += want.read;
          this.advance(bytes);
        }
      } else if ('skip' in want) {
        const take = Math.min(this.skipLeft, chunk.length - at);
        if (want.crc !== undefined) this.crc = crc32(chunk.subarray(at, at + take), this.crc);
        this.skipLeft -= take;
        at += take;
        this.offset += take;
        if (this.skipLeft === 0) this.advance(this.crc);
      } else {
        at = this.scan(chunk, at);
      }
    }
  }

  /** Entropy-coded data ends at a marker: 0xFF followed by anything but a stuffed 0x00, a fill 0xFF or a restart. */
  private scan(chunk: Buffer, from: number): number {
    let i = from;
    if (this.scanFf) {
      this.scanFf = false;
      const next = chunk[i]!;
      i += 1;
      if (next === 0xff) {
        this.scanFf = true;
        this.offset += i - from;
        return i;
      }
      if (next !== 0x00 && !(next >= 0xd0 && next <= 0xd7)) {
        this.offset += i - from;
        this.advance(next);
        return i;
      }
    }
    for (;;) {
      const ff = chunk.indexOf(0xff, i);
      if (ff === -1 || ff === chunk.length - 1) {
        if (ff !== -1) this.scanFf = true;
        this.offset += chunk.length - from;
        return chunk.length;
      }
      const next = chunk[ff + 1]!;
      if (next === 0x00 || (next >= 0xd0 && next <= 0xd7)) {
        i = ff + 2;
        continue;
      }
      if (next === 0xff) {
        i = ff + 1;
        continue;
      }
      this.offset += ff + 2 - from;
      this.advance(next);
      return ff + 2;
    }
  }

  private advance(value: Buffer | number | undefined): void {
    try {
      const step = this.walk.next(value as Buffer | number);
      if (step.done) {
        this.want = undefined;
        this.facts = { ...step.value, end: this.offset };
        return;
      }
      this.want = step.value;
      if ('at' in step.value) this.advance(this.offset);
      else if ('read' in step.value && step.value.read === 0) this.advance(Buffer.alloc(0));
      else if ('skip' in step.value) {
        this.skipLeft = step.value.skip;
        this.crc = step.value.crc ?? 0;
        if (this.skipLeft === 0) this.advance(this.crc);
      }
    } catch (err) {
      if (!(err instanceof Malformed)) throw err;
      this.want = undefined;
      this.failure = err.message;
    }
  }
}

/** A walker for the formats that have one; the others are checked by a decode. */
export function structureWalker(format: ImageFormat): StructureWalker | undefined {
  switch (format) {
    case 'jpeg':
      return new StructureWalker(walkJpeg());
    case 'png':
      return new StructureWalker(walkPng());
    case 'gif':
      return new StructureWalker(walkGif());
    case 'webp':
      return new StructureWalker(walkWebp());
    default:
      return undefined;
  }
}
