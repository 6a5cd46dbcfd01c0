// A counter of changes to what serving reads of an image, moved by the database itself on every such change, whoever
// makes it (this process, another instance, the CLI): a server polls it and drops what it holds of images when it moves,
// instead of reading every image again each second.
import { sql, SqliteAdapter, type Kysely } from 'kysely';

/**
 * What serving reads of an image: its addresses, its bytes and their facts, who may see it, whether it is in the trash.
 * A change of anything else (EXIF, placeholder, caption, description) leaves the counter alone; so does a change of
 * status other than to or from `failed` (serving refuses only failed images).
 */
const SERVED = ['filename', 'url_key', 'sha256', 'format', 'content_type', 'bytes', 'width', 'height', 'frames', 'has_alpha', 'visibility', 'key', 'owner_id', 'created_at', 'trashed_at'];

function changedWhen(distinct: (column: string) => string): string {
  const failed = (side: 'OLD' | 'NEW'): string => `(${side}.status = 'failed')`;
  return [...SERVED.map(distinct), `${failed('OLD')} <> ${failed('NEW')}`].join(' OR ');
}

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('serving_changes')
    .addColumn('id', 'integer', (c) => c.primaryKey())
    .addColumn('version', 'bigint', (c) => c.notNull())
    .execute();
  await sql`INSERT INTO serving_changes (id, version) VALUES (1, 0)`.execute(db);
  const bump = 'UPDATE serving_changes SET version = version + 1 WHERE id = 1';
  if (db.getExecutor().adapter instanceof SqliteAdapter) {
    // One writer at a time: the row is never contended.
    const when = changedWhen((c) => `OLD.${c} IS NOT NEW.${c}`);
    await sql.raw(`CREATE TRIGGER serving_changed_update AFTER UPDATE ON images WHEN ${when} BEGIN ${bump}; END`).execute(db);
    await sql.raw(`CREATE TRIGGER serving_changed_delete AFTER DELETE ON images BEGIN ${bump}; END`).execute(db);
    return;
  }
  // Deferred to the commit: the counter's row lock is the last one a transaction takes, so it cannot join a deadlock
  // with the image rows other transactions hold; and it is held only while the transaction commits.
  await sql.raw(`CREATE FUNCTION serving_changed() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN ${bump}; RETURN NULL; END $$`).execute(db);
  const when = changedWhen((c) => `OLD.${c} IS DISTINCT FROM NEW.${c}`);
  await sql.raw(`CREATE CONSTRAINT TRIGGER serving_changed_update AFTER UPDATE ON images DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW WHEN (${when}) EXECUTE FUNCTION serving_changed()`).execute(db);
  await sql.raw(`CREATE CONSTRAINT TRIGGER serving_changed_delete AFTER DELETE ON images DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION serving_changed()`).execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  const sqlite = db.getExecutor().adapter instanceof SqliteAdapter;
  await sql.raw(`DROP TRIGGER serving_changed_update${sqlite ? '' : ' ON images'}`).execute(db);
  await sql.raw(`DROP TRIGGER serving_changed_delete${sqlite ? '' : ' ON images'}`).execute(db);
  if (!sqlite) await sql.raw('DROP FUNCTION serving_changed()').execute(db);
  await db.schema.dropTable('serving_changes').execute();
}
