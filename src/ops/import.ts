// `imgd import`: an `imgd export` archive into an empty deployment, all or nothing.
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { pipeline as pipe, Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { extract as createExtract } from 'tar-stream';
import { newUrlKey } from '../core/ids.js';
import type { Db } from '../db/database.js';
import { dataTables, insertRows, rowCount, type Row } from '../db/dump.js';
import type { BlobStore } from '../core/storage/blob-store.js';
import { originalKey, shaFromOriginalKey } from '../core/storage/blob-keys.js';
import {
  ArchiveError,
  BLOBS_DIR,
  FORMAT,
  HEADER_ENTRY,
  isSafeBlobKey,
  SECRET_NAMES,
  SECRETS_DIR,
  TABLES_DIR,
  TRAILER_ENTRY,
  VERSION,
  type ArchiveHeader,
  type ArchiveTrailer,
  type SecretName,
} from './archive-format.js';
import { verifier } from './migrate-storage.js';

export interface ImportTarget {
  readonly db: Db;
  readonly store: BlobStore;
  /** Migrations this version of imgd knows. */
  readonly migrations: readonly string[];
}

export interface ImportReport {
  readonly rows: Readonly<Record<string, number>>;
  readonly blobs: number;
  /** Data-dir secrets the archive carried, for the caller to put in place once the import has succeeded. */
  readonly secrets: ReadonlyMap<SecretName, Buffer>;
}

const MAX_JSON_ENTRY = 1024 * 1024;

interface Received {
  header?: ArchiveHeader;
  trailer?: ArchiveTrailer;
  readonly tables: Map<string, { file: string; sha256: string }>;
  readonly originals: Set<string>;
  readonly secrets: Map<SecretName, Buffer>;
  blobs: number;
}

async function readJson<T>(name: string, size: number, body: AsyncIterable<Buffer>): Promise<T> {
  if (size > MAX_JSON_ENTRY) throw new ArchiveError(`${name} is ${size} bytes: too large to be imgd's`);
  const chunks: Buffer[] = [];
  for await (const chunk of body) chunks.push(chunk);
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8')) as T;
  } catch {
    throw new ArchiveError(`${name} is not valid JSON`);
  }
}

function checkHeader(header: ArchiveHeader, known: readonly string[]): void {
  if (header.format !== FORMAT || typeof header.version !== 'number') throw new ArchiveError('this is not an imgd export archive');
  if (header.version > VERSION) throw new ArchiveError(`the archive has format version ${header.version}; this imgd reads up to ${VERSION}: upgrade imgd first`);
  const unknown = (header.migrations ?? []).filter((name) => !known.includes(name));
  if (unknown.length > 0) throw new ArchiveError(`the archive comes from a newer imgd (schema ${unknown.join(', ')}): upgrade imgd first`);
}

/** Refuses a deployment that holds anything: an import never mixes two deployments' rows. */
async function assertEmpty(db: Db): Promise<void> {
  const filled: string[] = [];
  for (const table of await dataTables(db)) {
    const n = await rowCount(db, table);
    if (n > 0) filled.push(`${n} ${table}`);
  }
  if (filled.length > 0) throw new ArchiveError(`the target deployment is not empty (${filled.join(', ')}): import into a new DATA_DIR / DATABASE_URL`);
}

async function stageTable(file: string, body: AsyncIterable<Buffer>): Promise<string> {
  const hash = createHash('sha256');
  const out = createWriteStream(file);
  await pipeline(
    body,
    async function* (chunks: AsyncIterable<Buffer>) {
      for await (const chunk of chunks) {
        hash.update(chunk);
        yield chunk;
      }
    },
    out,
  );
  return hash.digest('hex');
}

/** Reads the archive: blobs go to the store (recorded in `written`), tables to files in dir. */
async function receive(input: Readable, target: ImportTarget, dir: string, written: string[]): Promise<Received> {
  const got: Received = { tables: new Map(), originals: new Set(), secrets: new Map(), blobs: 0 };
  const extract = createExtract();
  // When the archive itself fails (cut short, garbled), the entry being read only says "Stream was destroyed": keep the real reason.
  let broken: Error | undefined;
  extract.on('error', (err: Error) => (broken ??= err));
  input.on('error', (err) => extract.destroy(err));
  input.pipe(extract);
  try {
    for await (const entry of extract) {
      const { name, size = 0, type } = entry.header;
      const body = entry as unknown as AsyncIterable<Buffer>;
      if (got.trailer) throw new ArchiveError(`${name} comes after the end marker`);
      if (!got.header && name !== HEADER_ENTRY) throw new ArchiveError(`this is not an imgd export archive (it starts with ${JSON.stringify(name)})`);
      if (type !== 'file') throw new ArchiveError(`${name} is a ${type}, not a file`);
      if (name === HEADER_ENTRY) {
        got.header = await readJson<ArchiveHeader>(name, size, body);
        checkHeader(got.header, target.migrations);
      } else if (name === TRAILER_ENTRY) {
        got.trailer = await readJson<ArchiveTrailer>(name, size, body);
      } else if (name.startsWith(TABLES_DIR) && /^[a-z_][a-z0-9_]*\.ndjson$/.test(name.slice(TABLES_DIR.length))) {
        const table = name.slice(TABLES_DIR.length, -'.ndjson'.length);
        const file = path.join(dir, `${table}.ndjson`);
        got.tables.set(table, { file, sha256: await stageTable(file, body) });
      } else if (name.startsWith(SECRETS_DIR) && SECRET_NAMES.includes(name.slice(SECRETS_DIR.length) as SecretName)) {
        const chunks: Buffer[] = [];
        if (size > 4096) throw new ArchiveError(`${name} is ${size} bytes: too large to be a key`);
        for await (const chunk of body) chunks.push(chunk);
        got.secrets.set(name.slice(SECRETS_DIR.length) as SecretName, Buffer.concat(chunks));
      } else if (name.startsWith(BLOBS_DIR) && isSafeBlobKey(name.slice(BLOBS_DIR.length))) {
        const key = name.slice(BLOBS_DIR.length);
        const sha = shaFromOriginalKey(key);
        const existed = await target.store.exists(key);
        await target.store.put(key, pipe(Readable.from(body), verifier(key, size, sha), () => undefined));
        if (!existed) written.push(key);
        if (sha) got.originals.add(sha);
        got.blobs += 1;
      } else {
        throw new ArchiveError(`unexpected entry ${JSON.stringify(name)}`);
      }
    }
  } catch (err) {
    if (err instanceof ArchiveError) throw err;
    const cause = broken ?? err;
    if ((cause as NodeJS.ErrnoException).code === 'ENOENT' || (cause as NodeJS.ErrnoException).code === 'EISDIR') throw cause;
    // tar-stream's own complaints (a cut or garbled archive) are about the archive too.
    if (broken || /unexpected end|invalid tar|checksum|header|destroyed/i.test((cause as Error).message)) {
      throw new ArchiveError(`the archive is damaged or cut short (${(cause as Error).message})`);
    }
    throw err;
  }
  if (!got.header) throw new ArchiveError('the archive is empty');
  return got;
}

async function* ndjson(file: string, table: string): AsyncGenerator<Row> {
  let line = 0;
  for await (const text of createInterface({ input: createReadStream(file), crlfDelay: Infinity })) {
    line += 1;
    if (!text) continue;
    let row: unknown;
    try {
      row = JSON.parse(text);
    } catch {
      throw new ArchiveError(`${table} row ${line} is not valid JSON`);
    }
    if (typeof row !== 'object' || row === null || Array.isArray(row)) throw new ArchiveError(`${table} row ${line} is not an object`);
    yield adapt(table, row as Row);
  }
}

/**
 * Jobs that were queued in the old deployment's Redis, or running there, are to be run again here. Images from an
 * imgd older than URL keys (migration 006) get one, as that migration gives every image.
 */
function adapt(table: string, row: Row): Row {
  if (table === 'jobs' && row.status !== 'done' && row.status !== 'failed') return { ...row, status: 'pending', locked_until: null };
  if (table === 'images' && (typeof row.url_key !== 'string' || row.url_key === '')) return { ...row, url_key: newUrlKey() };
  return row;
}

/** Checks the end marker against what arrived: every table whole, every original there. */
async function checkComplete(got: Received, known: readonly string[]): Promise<ArchiveTrailer> {
  const trailer = got.trailer;
  if (!trailer) throw new ArchiveError('the archive is cut short (no end marker)');
  for (const [table, expected] of Object.entries(trailer.tables)) {
    const staged = got.tables.get(table);
    if (!staged) throw new ArchiveError(`table ${table} is missing from the archive`);
    if (staged.sha256 !== expected.sha256) throw new ArchiveError(`table ${table} does not match its checksum`);
    if (!known.includes(table)) throw new ArchiveError(`table ${table} is unknown to this imgd`);
  }
  if (got.blobs !== trailer.blobs) throw new ArchiveError(`the archive holds ${got.blobs} blob(s) where its end marker lists ${trailer.blobs}`);
  const blobs = got.tables.get('blobs');
  if (blobs) {
    for await (const row of ndjson(blobs.file, 'blobs')) {
      if (!got.originals.has(String(row.sha256))) throw new ArchiveError(`the original ${originalKey(String(row.sha256))} is missing from the archive`);
    }
  }
  return trailer;
}

export async function importDeployment(target: ImportTarget, input: Readable, stagingDir: string): Promise<ImportReport> {
  await assertEmpty(target.db);
  const dir = await mkdtemp(path.join(stagingDir, 'import-'));
  const written: string[] = [];
  try {
    const got = await receive(input, target, dir, written);
    const tables = await dataTables(target.db);
    const trailer = await checkComplete(got, tables);
    const rows: Record<string, number> = {};
    await target.db.transaction().execute(async (trx) => {
      for (const table of tables.filter((t) => t in trailer.tables)) {
        rows[table] = await insertRows(trx, table, ndjson(got.tables.get(table)!.file, table));
        if (rows[table] !== trailer.tables[table]!.rows) throw new ArchiveError(`table ${table} holds ${rows[table]} row(s) where the end marker lists ${trailer.tables[table]!.rows}`);
      }
    });
    return { rows, blobs: got.blobs, secrets: got.secrets };
  } catch (err) {
    // Nothing half-imported: the rows were never committed, and the blobs this run added go again.
    for (const key of written) await target.store.delete(key).catch(() => undefined);
    throw err;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
