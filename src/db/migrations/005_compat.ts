// For the compatibility profiles: integer numbers for images and users (seed 002's ids), given by the database at
// insert whatever route inserts; and which upload attempts came through which profile (seed 001 lists its failures).
import { sql, SqliteAdapter, type Kysely } from 'kysely';

const NUMBERED = [
  { table: 'images', numbers: 'image_numbers', ref: 'image_id' },
  { table: 'users', numbers: 'user_numbers', ref: 'user_id' },
] as const;

/**
 * A side table, not a column: SQLite cannot add an autoincrementing column, and a trigger numbers every insert,
 * so no writer (upload, import, CLI) has to know. Rows are kept when their image or user goes (AUTOINCREMENT and a
 * PostgreSQL sequence never hand a number out twice anyway); `imgd export` carries them and `imgd import` puts them
 * back before the images, the trigger then leaving a numbered id alone, so numbers survive a move.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  const sqlite = db.getExecutor().adapter instanceof SqliteAdapter;
  for (const { table, numbers, ref } of NUMBERED) {
    if (sqlite) {
      await sql`CREATE TABLE ${sql.table(numbers)} (number INTEGER PRIMARY KEY AUTOINCREMENT, ${sql.ref(ref)} TEXT NOT NULL UNIQUE)`.execute(db);
      await sql`CREATE TRIGGER ${sql.raw(`${numbers}_assign`)} AFTER INSERT ON ${sql.table(table)}
        BEGIN INSERT OR IGNORE INTO ${sql.table(numbers)} (${sql.ref(ref)}) VALUES (NEW.id); END`.execute(db);
    } else {
      await sql`CREATE TABLE ${sql.table(numbers)} (number BIGINT PRIMARY KEY, ${sql.ref(ref)} TEXT NOT NULL UNIQUE)`.execute(db);
      await sql`CREATE SEQUENCE ${sql.raw(`${numbers}_seq`)}`.execute(db);
      // After an import put numbers in explicitly, the sequence is moved past them before it is used again.
      await sql.raw(`CREATE FUNCTION ${numbers}_assign() RETURNS trigger LANGUAGE plpgsql AS $$
        DECLARE n BIGINT;
        BEGIN
          IF EXISTS (SELECT 1 FROM ${numbers} WHERE ${ref} = NEW.id) THEN RETURN NEW; END IF;
          n := nextval('${numbers}_seq');
          IF n <= (SELECT COALESCE(MAX(number), 0) FROM ${numbers}) THEN
            n := (SELECT MAX(number) + 1 FROM ${numbers});
            PERFORM setval('${numbers}_seq', n);
          END IF;
          INSERT INTO ${numbers} (number, ${ref}) VALUES (n, NEW.id);
          RETURN NEW;
        END $$`).execute(db);
      await sql.raw(`CREATE TRIGGER ${numbers}_assign AFTER INSERT ON ${table} FOR EACH ROW EXECUTE FUNCTION ${numbers}_assign()`).execute(db);
    }
    // What exists already is numbered in the order it was created.
    const existing = await sql<{ id: string }>`SELECT id FROM ${sql.table(table)} ORDER BY created_at, id`.execute(db);
    let n = 0;
    for (const row of existing.rows) {
      n += 1;
      await sql`INSERT INTO ${sql.table(numbers)} (number, ${sql.ref(ref)}) VALUES (${n}, ${row.id})`.execute(db);
    }
    if (!sqlite && n > 0) await sql`SELECT setval(${`${numbers}_seq`}, ${n})`.execute(db);
  }
  await db.schema
    .createTable('profile_attempts')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('profile', 'text', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('profile_attempts_profile').on('profile_attempts').columns(['profile', 'created_at']).execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('profile_attempts').execute();
  const sqlite = db.getExecutor().adapter instanceof SqliteAdapter;
  for (const { table, numbers } of NUMBERED) {
    if (sqlite) {
      await sql.raw(`DROP TRIGGER ${numbers}_assign`).execute(db);
    } else {
      await sql.raw(`DROP TRIGGER ${numbers}_assign ON ${table}`).execute(db);
      await sql.raw(`DROP FUNCTION ${numbers}_assign()`).execute(db);
      await sql.raw(`DROP SEQUENCE ${numbers}_seq`).execute(db);
    }
    await db.schema.dropTable(numbers).execute();
  }
}
