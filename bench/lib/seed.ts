// Seeds an imgd data directory with many image rows through the project's own database layer, in bulk.
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openDatabase } from '../../src/db/database.js';
import { migrateToLatest } from '../../src/db/migrate.js';
import type { Db } from '../../src/db/database.js';
import { newUrlKey } from '../../src/core/ids.js';

export const KEYS = 1000;
const SHA = 'ab'.repeat(32);
const seeded = new Map<number, Promise<string>>();

/** A data directory holding `rows` ready images (one shared blob row), keys album-0..album-999; made once per process. */
export function seededDataDir(rows: number, log: (m: string) => void): Promise<string> {
  let pending = seeded.get(rows);
  if (!pending) {
    pending = seed(rows, log);
    seeded.set(rows, pending);
  }
  return pending;
}

/** An images row as imgd writes it for a ready, public 640x480 JPEG. */
function imageRow(i: number, sha256: string, bytes: number, at: string) {
  return {
    id: `img${i.toString(36).padStart(8, '0')}`,
    filename: `photo-${i}.jpg`,
    url_key: newUrlKey(),
    original_name: `photo-${i}.jpg`,
    sha256,
    format: 'jpeg',
    content_type: 'image/jpeg',
    bytes,
    width: 640,
    height: 480,
    frames: 1,
    status: 'ready',
    error: null,
    visibility: 'public',
    key: `album-${i % KEYS}`,
    description: null,
    owner_id: null,
    exif: null,
    placeholder: null,
    has_alpha: 0,
    caption: null,
    created_at: at,
    updated_at: at,
  };
}

/**
 * Stores distinct JPEGs as imgd's disk store lays them out (blobs/originals/ab/cd/<sha256>) and adds their rows
 * through src/db: the catalog of thousands of uploads without thousands of uploads. Answers each one's URL path
 * (the default IMAGE_URLS=keyed shape, `/i/<key>/<filename>`) and sha256.
 */
export async function seedOriginals(dataDir: string, files: readonly Buffer[]): Promise<{ path: string; sha256: string }[]> {
  const db: Db = openDatabase({ kind: 'sqlite', file: path.join(dataDir, 'imgd.sqlite') });
  const out: { path: string; sha256: string }[] = [];
  try {
    await migrateToLatest(db);
    const at = new Date().toISOString();
    await db.transaction().execute(async (trx) => {
      for (const [i, bytes] of files.entries()) {
        const sha256 = createHash('sha256').update(bytes).digest('hex');
        const dir = path.join(dataDir, 'blobs', 'originals', sha256.slice(0, 2), sha256.slice(2, 4));
        mkdirSync(dir, { recursive: true });
        writeFileSync(path.join(dir, sha256), bytes);
        await trx
          .insertInto('blobs')
          .values({ sha256, bytes: bytes.length, format: 'jpeg', content_type: 'image/jpeg', width: 640, height: 480, ref_count: 1, created_at: at })
          .execute();
        const row = imageRow(i, sha256, bytes.length, at);
        await trx.insertInto('images').values(row).execute();
        out.push({ path: `/i/${row.url_key}/${row.filename}`, sha256 });
      }
    });
  } finally {
    await db.destroy();
  }
  return out;
}

async function seed(rows: number, log: (m: string) => void): Promise<string> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'imgd-bench-seed-'));
  process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  const started = performance.now();
  const db = openDatabase({ kind: 'sqlite', file: path.join(dir, 'imgd.sqlite') });
  try {
    await seedCatalog(db, rows);
  } finally {
    await db.destroy();
  }
  log(`  seeded ${rows.toLocaleString('en')} image rows through src/db in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  return dir;
}

/** Migrates `db` and writes `rows` ready images sharing one blob row, keys album-0..album-999, in bulk. */
export async function seedCatalog(db: Db, rows: number): Promise<void> {
  await migrateToLatest(db);
  const t0 = Date.parse('2024-01-01T00:00:00Z');
  await db
    .insertInto('blobs')
    .values({ sha256: SHA, bytes: 161_713, format: 'jpeg', content_type: 'image/jpeg', width: 640, height: 480, ref_count: rows, created_at: new Date(t0).toISOString() })
    .execute();
  const BATCH = 1000;
  for (let start = 0; start < rows; start += 50_000) {
    await db.transaction().execute(async (trx) => {
      for (let b = start; b < Math.min(rows, start + 50_000); b += BATCH) {
        const values = [];
        for (let i = b; i < Math.min(rows, b + BATCH); i += 1) {
          const at = new Date(t0 + i * 1000).toISOString();
          values.push(imageRow(i, SHA, 161_713, at));
        }
        await trx.insertInto('images').values(values).execute();
      }
    });
  }
}
