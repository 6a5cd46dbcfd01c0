// Versioned migrations, run at start-up and by `imgd migrate`; the same files for SQLite and PostgreSQL.
import { Migrator, type Migration, type MigrationProvider, type MigrationResultSet } from 'kysely';
import type { Db } from './database.js';
import * as m001 from './migrations/001_initial.js';
import * as m002 from './migrations/002_accounts.js';
import * as m003 from './migrations/003_processing.js';
import * as m004 from './migrations/004_session_generation.js';
import * as m005 from './migrations/005_compat.js';
import * as m006 from './migrations/006_url_keys.js';
import * as m007 from './migrations/007_resumable_uploads.js';
import * as m008 from './migrations/008_webhooks.js';
import * as m009 from './migrations/009_browser_sessions.js';
import * as m010 from './migrations/010_library.js';
import * as m011 from './migrations/011_serving_changes.js';

const MIGRATIONS: Record<string, Migration> = {
  '001_initial': m001,
  '002_accounts': m002,
  '003_processing': m003,
  '004_session_generation': m004,
  '005_compat': m005,
  '006_url_keys': m006,
  '007_resumable_uploads': m007,
  '008_webhooks': m008,
  '009_browser_sessions': m009,
  '010_library': m010,
  '011_serving_changes': m011,
};

const provider: MigrationProvider = { getMigrations: () => Promise.resolve(MIGRATIONS) };

/** The migrator over imgd's migrations, for moving a schema to any version (tests bring one to an older version). */
export const schemaMigrator = (db: Db): Migrator =>
  new Migrator({ db, provider, migrationTableName: 'imgd_migrations', migrationLockTableName: 'imgd_migrations_lock' });

/** Brings the schema to the latest version; returns the names applied now. */
export async function migrateToLatest(db: Db): Promise<string[]> {
  const result: MigrationResultSet = await schemaMigrator(db).migrateToLatest();
  if (result.error) {
    const failed = result.results?.find((r) => r.status === 'Error')?.migrationName;
    // No migration ran (the database cannot be reached, say): the error as it is, with its code.
    if (!failed) throw result.error;
    throw new Error(`migration ${failed} failed: ${(result.error as Error).message ?? String(result.error)}`);
  }
  return (result.results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
}
