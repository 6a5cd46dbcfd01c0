// The pieces every structural walk is made of: the facts it returns, what it asks of the bytes next, and the
// metadata chunks it keeps.

export interface StructureFacts {
  readonly width: number;
  readonly height: number;
  readonly frames: number;
  readonly hasAlpha: boolean;
  /** A progressive (or hierarchical) JPEG: every coefficient is held in memory while it decodes. */
  readonly progressive: boolean;
  /** Where the image ends: bytes after it (trailing data) are not part of the image. */
  readonly end: number;
  /**
   * Byte ranges `[start, end)` before `end` that are not the image: comments, and segments, chunks or blocks the
   * format does not need and this walk does not know (see strip.ts). In file order, not overlapping.
   */
  readonly extras: ReadonlyArray<readonly [number, number]>;
  /**
   * A PNG or WebP without its pixel data: the other chunks (EXIF, XMP, text) as they are in the file, gathered as
   * the bytes passed, so a large upload's metadata is read without going back to its staged file. Undefined when
   * they would exceed METADATA_BYTES.
   */
  readonly metadata?: Buffer | undefined;
}

/** Most metadata the walk keeps of one upload. */
export const METADATA_BYTES = 4 * 1024 * 1024;

/** Chunks kept for the metadata view, within METADATA_BYTES. */
export class Kept {
  private parts: Buffer[] = [];
  private bytes = 0;
  private over = false;
  /** Whether a chunk of this size still fits; once one does not, nothing more is kept. */
  fits(size: number): boolean {
    if (this.bytes + size > METADATA_BYTES) this.over = true;
    return !this.over;
  }
  add(...parts: Buffer[]): void {
    for (const part of parts) {
      this.parts.push(part);
      this.bytes += part.length;
    }
  }
  view(): Buffer | undefined {
    return this.over ? undefined : Buffer.concat(this.parts, this.bytes);
  }
}

/** What a walk asks of the bytes next. */
export type Want =
  | { readonly read: number }
  | { readonly skip: number; readonly crc?: number }
  /** JPEG entropy-coded data: answered with the marker that ends it. */
  | { readonly scan: true }
  /** Answered at once with the offset of the next byte. */
  | { readonly at: true };

export type Walk = Generator<Want, Omit<StructureFacts, 'end'>, Buffer | number>;
export type Extras = Array<readonly [number, number]>;

export class Malformed extends Error {}
export const malformed = (what: string): never => {
  throw new Malformed(what);
};

export function* read(n: number): Generator<Want, Buffer, Buffer | number> {
  return (yield { read: n }) as Buffer;
}

export function* here(): Generator<Want, number, Buffer | number> {
  return (yield { at: true }) as number;
}

export const latin1 = (bytes: Buffer, from = 0): string => bytes.toString('latin1', from);
