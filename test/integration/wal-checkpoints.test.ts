// WAL checkpoints of the embedded database off the event loop (src/db/wal-checkpoints.ts): pages committed to the WAL
// reach the database file without a commit ever checkpointing them itself, and the WAL stays bounded under writes.
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, describe, it } from 'node:test';
import SQLite from 'better-sqlite3';
import { sql } from 'kysely';
import { openDatabase } from '../../src/db/database.js';

describe('WAL checkpoints of the embedded database', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'imgd-wal-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  /** A fresh embedded database with one table, `rows` rows of `bytes` each committed one by one. */
  const written = async (name: string, rows: number, bytes: number) => {
    const file = path.join(dir, name);
    const db = openDatabase({ kind: 'sqlite', file });
    await sql`CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL)`.execute(db);
    for (let i = 0; i < rows; i += 1) await sql`INSERT INTO notes (body) VALUES (${'x'.repeat(bytes)})`.execute(db);
    return { file, db };
  };

  it('copies committed pages into the database file in the background, far below the automatic checkpoint', async () => {
    // About 20 pages: SQLite's own checkpoint waits for 1,000.
    const { file, db } = await written('imgd.sqlite', 20, 3000);
    try {
      await sleep(400);
      // The database file alone (no WAL beside it): what a checkpoint has written there.
      const copy = path.join(dir, 'copy.sqlite');
      copyFileSync(file, copy);
      const alone = new SQLite(copy, { readonly: true });
      try {
        assert.equal((alone.prepare('SELECT count(*) AS n FROM notes').get() as { n: number }).n, 20);
      } finally {
        alone.close();
      }
    } finally {
      await db.destroy();
    }
  });

  it('keeps the WAL bounded under a steady stream of commits', async () => {
    // 6,000 pages' worth of rows, commit after commit, with no pause for a checkpoint to catch up in.
    const { file, db } = await written('steady.sqlite', 6000, 3500);
    try {
      const wal = statSync(`${file}-wal`).size;
      assert.ok(wal < 8 * 1024 * 1024, `WAL of ${wal} bytes after 21 MB of rows`);
    } finally {
      await db.destroy();
    }
  });

  it('has ended the thread, and closed its connection, when destroy() returns', async () => {
    // Before, the thread was told to stop and ended a moment later: its connection, opened late or closed last,
    // created and removed the -wal and -shm files while the caller was already removing the directory (ENOTEMPTY).
    const threads = (): number => readdirSync('/proc/self/task').length;
    await (await written('warm.sqlite', 1, 10)).db.destroy();
    for (let round = 0; round < 5; round += 1) {
      const before = threads();
      const { file, db } = await written(`closed-${round}.sqlite`, 1, 10);
      await db.destroy();
      assert.equal(threads(), before, `round ${round}: a thread is still running`);
      assert.deepEqual([existsSync(`${file}-wal`), existsSync(`${file}-shm`)], [false, false], `round ${round}`);
    }
  });
});
