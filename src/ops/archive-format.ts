// The layout of an `imgd export` archive: a tar of a header, one NDJSON file per table, every blob, and an end marker.
import { Writable } from 'node:stream';
import type { Pack } from 'tar-stream';

export const HEADER_ENTRY = 'imgd-export.json';
export const TRAILER_ENTRY = 'imgd-export-end.json';
export const TABLES_DIR = 'tables/';
export const BLOBS_DIR = 'blobs/';
/** Small files of the data dir that a deployment needs to stay the same (the generated signing key). */
export const SECRETS_DIR = 'secrets/';
export const SECRET_NAMES = ['signing_key'] as const;
export type SecretName = (typeof SECRET_NAMES)[number];
export const FORMAT = 'imgd-export';
export const VERSION = 1;

export interface ArchiveHeader {
  readonly format: typeof FORMAT;
  readonly version: number;
  readonly created_at: string;
  readonly database: 'sqlite' | 'postgres';
  /** Migrations applied to the exporting database: an importer must know them all. */
  readonly migrations: readonly string[];
}

/** Written last: an archive without it was cut short. */
export interface ArchiveTrailer {
  readonly tables: Readonly<Record<string, { readonly rows: number; readonly sha256: string }>>;
  readonly blobs: number;
}

/** The archive is not one imgd can import, or not whole; nothing has been kept. */
export class ArchiveError extends Error {
  override name = 'ArchiveError';
}

export const tableEntry = (table: string): string => `${TABLES_DIR}${table}.ndjson`;

/** Blob keys as both stores accept them: no empty, dot or dot-dot parts. */
export function isSafeBlobKey(key: string): boolean {
  return /^[a-z0-9][a-z0-9_.-]*(\/[a-z0-9_.-]+)*$/i.test(key) && !key.split('/').some((part) => part === '.' || part === '..');
}

/** Adds one file entry of a known size to the pack, with back-pressure; resolves once tar-stream has taken all of it. */
export async function addEntry(pack: Pack, name: string, size: number, body: AsyncIterable<Buffer> | Buffer): Promise<void> {
  let entry!: Writable;
  const done = new Promise<void>((resolve, reject) => {
    entry = pack.entry({ name, size, mode: 0o600, type: 'file' }, (err) => (err ? reject(err) : resolve())) as unknown as Writable;
  });
  if (Buffer.isBuffer(body)) {
    entry.end(body);
  } else {
    for await (const chunk of body) {
      if (!entry.write(chunk)) await new Promise<void>((resolve) => entry.once('drain', () => resolve()));
    }
    entry.end();
  }
  await done;
}
