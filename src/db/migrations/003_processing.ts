// Processing: alpha and caption on images, and one row per processing step run, for durations.
import type { Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('images').addColumn('has_alpha', 'integer', (c) => c.notNull().defaultTo(0)).execute();
  await db.schema.alterTable('images').addColumn('caption', 'text').execute();
  await db.schema
    .createTable('processing_runs')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('image_id', 'text', (c) => c.notNull())
    .addColumn('step', 'text', (c) => c.notNull())
    .addColumn('ok', 'integer', (c) => c.notNull())
    .addColumn('duration_ms', 'double precision', (c) => c.notNull())
    .addColumn('at', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('processing_runs_step').on('processing_runs').columns(['step', 'at']).execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('processing_runs').execute();
  await db.schema.alterTable('images').dropColumn('caption').execute();
  await db.schema.alterTable('images').dropColumn('has_alpha').execute();
}
