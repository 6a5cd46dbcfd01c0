// The blob store: where image bytes live, behind one interface the core owns (implemented in src/store/: local disk, S3).
import type { Readable } from 'node:stream';

export interface ByteRange {
  readonly start: number;
  /** Inclusive. */
  readonly end: number;
}

export interface BlobInfo {
  readonly key: string;
  readonly size: number;
  readonly modifiedAt: Date;
}

export interface BlobStore {
  /** Publishes a complete local file under key, atomically: readers see all of it or nothing. */
  putFile(key: string, localPath: string): Promise<void>;
  /** Writes a stream under key, atomically. */
  put(key: string, body: Readable): Promise<void>;
  /** Writes bytes already in memory under key, atomically and durably, in as few calls as the store allows. */
  putBytes(key: string, bytes: Buffer): Promise<void>;
  /** The bytes of key (or of a range of it); rejects with a not_found ImgdError when absent. */
  get(key: string, range?: ByteRange): Promise<Readable>;
  /**
   * All the bytes of key in one buffer, when the store has a cheaper way than `get` (use readBlob); not_found when
   * absent. `size`, when the caller knows it (the catalog does), spares the store asking the file system for it.
   */
  read?(key: string, size?: number): Promise<Buffer>;
  /** A local file holding key's bytes that libvips can open itself, for stores on local disk; no check that it exists. */
  localPath?(key: string): string;
  stat(key: string): Promise<BlobInfo | undefined>;
  exists(key: string): Promise<boolean>;
  /** Removes key; absent keys are not an error. */
  delete(key: string): Promise<void>;
  /** Every blob under a prefix, for garbage collection. */
  list(prefix: string): AsyncIterable<BlobInfo>;
  /** Throws when the store cannot be used (for /readyz). */
  check(): Promise<void>;
}

/** All the bytes of a blob in one buffer: the store's own way when it has one, else its stream gathered with one copy. */
export async function readBlob(store: BlobStore, key: string, size?: number): Promise<Buffer> {
  if (store.read) return store.read(key, size);
  // Not node:stream/consumers' buffer(): it goes through a Blob and a zero-filled ArrayBuffer, two more copies of every byte.
  const chunks: Buffer[] = [];
  for await (const chunk of await store.get(key)) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}
