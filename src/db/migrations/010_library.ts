// The library: a trash (an image's trashed_at; its row and bytes stay until it is purged) and albums of images.
import type { Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('images').addColumn('trashed_at', 'text').execute();
  await db.schema.createIndex('images_trashed_at').on('images').column('trashed_at').execute();
  await db.schema
    .createTable('albums')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('owner_id', 'text')
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('albums_owner').on('albums').columns(['owner_id', 'created_at']).execute();
  await db.schema
    .createTable('album_images')
    // An id of its own, so that export reads the table in pages by it as it reads the others.
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('album_id', 'text', (c) => c.notNull())
    .addColumn('image_id', 'text', (c) => c.notNull())
    .addColumn('added_at', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('album_images_member').on('album_images').columns(['album_id', 'image_id']).unique().execute();
  await db.schema.createIndex('album_images_image').on('album_images').column('image_id').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('album_images').execute();
  await db.schema.dropTable('albums').execute();
  await db.schema.dropIndex('images_trashed_at').execute();
  await db.schema.alterTable('images').dropColumn('trashed_at').execute();
}
