// The one opener every CLI command uses: it opens what the command asks for, no more, and closes it with one close().
import assert from 'node:assert/strict';
import { rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { describe, it } from 'node:test';
import { sql } from 'kysely';
import { openDeployment, withDeployment } from '../../src/cli/deployment.js';
import { loadConfig, type Config } from '../../src/config.js';
import type { Db } from '../../src/db/database.js';
import { makeDataDir } from '../helpers/app.js';

/** The tables of a SQLite database (the settings here name no other). */
const tables = async (db: Db): Promise<string[]> => {
  const rows = await sql<{ name: string }>`SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'`.execute(db);
  return rows.rows.map((r) => r.name);
};

/** Runs `work` on the settings of a fresh data dir, removed afterwards. */
async function inDataDir(work: (config: Config, dataDir: string) => Promise<void>): Promise<void> {
  const dataDir = await makeDataDir();
  try {
    await work(loadConfig({ DATA_DIR: dataDir }), dataDir);
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
}

describe('opening a deployment for a command', () => {
  it('opens the database as found when asked not to migrate, and migrated otherwise', () =>
    inDataDir(async (config) => {
      await withDeployment(config, { needs: ['database'], migrate: false }, async ({ db }) => {
        assert.deepEqual(await tables(db), [], 'no migration ran');
      });
      await withDeployment(config, { needs: ['database'] }, async ({ db }) => {
        assert.ok((await tables(db)).includes('images'), 'the schema is current');
      });
    }));

  it('makes the staging folder and opens the store only when asked, and closes with one close()', () =>
    inDataDir(async (config, dataDir) => {
      const staging = path.join(dataDir, 'tmp');
      const { store, close } = await openDeployment(config, { needs: ['store'] });
      await store.check();
      await close();
      await assert.rejects(stat(staging), { code: 'ENOENT' }, 'no staging folder without staging');
      const opened = await openDeployment(config, { needs: ['database', 'staging', 'store'] });
      assert.equal(opened.stagingDir, staging);
      assert.ok((await stat(staging)).isDirectory());
      await opened.close();
      await assert.rejects(sql`SELECT 1`.execute(opened.db), 'the database is closed');
    }));

  it('opens the whole core for commands that work through it, and closes it', () =>
    inDataDir(async (config) => {
      const users = await withDeployment(config, { needs: ['core'] }, async ({ core }) => core.accounts.listUsers({ kind: 'admin' }));
      assert.deepEqual(users, []);
    }));
});
