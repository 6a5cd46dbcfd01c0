// `imgd export`: the whole deployment (every table, every blob) as one tar archive, read from one consistent snapshot.
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { pack as createPack } from 'tar-stream';
import { ImgdError, isImgdError } from '../core/errors.js';
import type { Db } from '../db/database.js';
import { appliedMigrations, dataTables, tableRows } from '../db/dump.js';
import type { BlobStore } from '../core/storage/blob-store.js';
import { originalKey } from '../core/storage/blob-keys.js';
import {
  addEntry,
  BLOBS_DIR,
  FORMAT,
  HEADER_ENTRY,
  SECRETS_DIR,
  tableEntry,
  TRAILER_ENTRY,
  VERSION,
  type ArchiveHeader,
  type ArchiveTrailer,
  type SecretName,
} from './archive-format.js';
import { verifiedRead } from './migrate-storage.js';

export interface ExportSource {
  readonly db: Db;
  readonly store: BlobStore;
  readonly database: 'sqlite' | 'postgres';
  /** Data-dir secrets to carry over (the generated signing key), by name. */
  readonly secrets?: ReadonlyMap<SecretName, Buffer>;
}

export interface ExportReport {
  readonly rows: Readonly<Record<string, number>>;
  readonly originals: number;
  readonly variants: number;
  readonly bytes: number;
}

interface Snapshot {
  readonly migrations: string[];
  readonly tables: Array<{ name: string; file: string; rows: number; sha256: string }>;
  readonly originals: Array<{ sha256: string; bytes: number }>;
}

/** Writes every table to an NDJSON file in dir inside one transaction, so rows that refer to each other agree. */
async function snapshot(source: ExportSource, dir: string): Promise<Snapshot> {
  const begin = source.database === 'postgres' ? source.db.transaction().setIsolationLevel('repeatable read') : source.db.transaction();
  return begin.execute(async (trx) => {
    const migrations = await appliedMigrations(trx);
    const tables: Snapshot['tables'] = [];
    const originals: Snapshot['originals'] = [];
    for (const name of await dataTables(trx)) {
      const file = path.join(dir, `${name}.ndjson`);
      const out = createWriteStream(file);
      const hash = createHash('sha256');
      let rows = 0;
      for await (const row of tableRows(trx, name)) {
        const line = `${JSON.stringify(row)}\n`;
        hash.update(line);
        if (!out.write(line)) await new Promise<void>((resolve) => out.once('drain', () => resolve()));
        rows += 1;
        if (name === 'blobs') originals.push({ sha256: String(row.sha256), bytes: Number(row.bytes) });
      }
      await new Promise<void>((resolve, reject) => {
        out.once('error', reject);
        out.end(() => resolve());
      });
      tables.push({ name, file, rows, sha256: hash.digest('hex') });
    }
    return { migrations, tables, originals };
  });
}

/** Streams the archive to out; rejects (leaving out unfinished) when a blob is missing or does not match its name. */
export async function exportDeployment(source: ExportSource, out: Writable, stagingDir: string, onProgress?: (line: string) => void): Promise<ExportReport> {
  const dir = await mkdtemp(path.join(stagingDir, 'export-'));
  const pack = createPack();
  const written = pipeline(pack, out);
  try {
    const snap = await snapshot(source, dir);
    const header: ArchiveHeader = { format: FORMAT, version: VERSION, created_at: new Date().toISOString(), database: source.database, migrations: snap.migrations };
    await addEntry(pack, HEADER_ENTRY, Buffer.byteLength(JSON.stringify(header)), Buffer.from(JSON.stringify(header)));
    for (const [name, bytes] of source.secrets ?? []) await addEntry(pack, SECRETS_DIR + name, bytes.length, bytes);
    for (const table of snap.tables) {
      await addEntry(pack, tableEntry(table.name), (await stat(table.file)).size, createReadStream(table.file));
    }
    let bytes = 0;
    for (const [i, original] of snap.originals.entries()) {
      const key = originalKey(original.sha256);
      const blob = { key, size: original.bytes, modifiedAt: new Date(0) };
      const body = await verifiedRead(source.store, blob).catch((err: unknown) => {
        if (!isImgdError(err) || err.code !== 'not_found') throw err;
        throw new ImgdError('not_found', `${err.message} It has a row in the snapshot: deleted during the export? Run it again (best with uploads stopped).`);
      });
      await addEntry(pack, BLOBS_DIR + key, blob.size, body);
      bytes += blob.size;
      if ((i + 1) % 100 === 0) onProgress?.(`progress: ${i + 1} of ${snap.originals.length} original(s)\n`);
    }
    // Variants are a cache: one removed since the listing is simply left out.
    let variants = 0;
    for await (const blob of source.store.list('variants/')) {
      const body = await verifiedRead(source.store, blob).catch((err: unknown) => {
        if (isImgdError(err) && err.code === 'not_found') return undefined;
        throw err;
      });
      if (!body) continue;
      await addEntry(pack, BLOBS_DIR + blob.key, blob.size, body);
      bytes += blob.size;
      variants += 1;
    }
    const trailer: ArchiveTrailer = {
      tables: Object.fromEntries(snap.tables.map((t) => [t.name, { rows: t.rows, sha256: t.sha256 }])),
      blobs: snap.originals.length + variants,
    };
    await addEntry(pack, TRAILER_ENTRY, Buffer.byteLength(JSON.stringify(trailer)), Buffer.from(JSON.stringify(trailer)));
    pack.finalize();
    await written;
    return { rows: Object.fromEntries(snap.tables.map((t) => [t.name, t.rows])), originals: snap.originals.length, variants, bytes };
  } catch (err) {
    pack.destroy(err as Error);
    await written.catch(() => undefined);
    throw err;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
