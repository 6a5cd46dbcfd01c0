// The catalog's figures: upload attempts in total and per day, and what the library and its blobs take up.
import type { Catalog } from '../core/images/catalog.js';
import type { StorageUsage } from '../core/images/image.js';
import type { UploadStats } from '../core/upload/attempts.js';
import type { Db } from './database.js';

export function statsQueries(db: Db): Pick<Catalog, 'uploadStats' | 'storageUsage'> {
  return {
    async uploadStats(days) {
      const totals = await db
        .selectFrom('attempts')
        .select((eb) => [
          eb.fn.countAll<number>().as('total'),
          eb.fn.sum<number>(eb.case().when('outcome', '=', 'failed').then(1).else(0).end()).as('failed'),
          eb.fn.avg<number>(eb.case().when('outcome', '=', 'success').then(eb.ref('duration_ms')).end()).as('avg'),
          // An accepted upload's attempt names its image; a refused one names none (failUpload keeps the name).
          eb.fn.sum<number>(eb.case().when('image_id', 'is', null).then(1).else(0).end()).as('refused'),
          eb.fn.avg<number>(eb.case().when('image_id', 'is not', null).then(eb.ref('duration_ms')).end()).as('avg_accepted'),
        ])
        .executeTakeFirstOrThrow();
      const since = new Date(Date.now() - (days - 1) * 86_400_000).toISOString().slice(0, 10);
      const perDay = await db
        .selectFrom('attempts')
        .select((eb) => [
          'day',
          eb.fn.countAll<number>().as('total'),
          eb.fn.sum<number>(eb.case().when('outcome', '=', 'failed').then(1).else(0).end()).as('failed'),
          eb.fn.sum<number>(eb.case().when('outcome', '=', 'success').then(eb.ref('bytes')).else(0).end()).as('bytes'),
          eb.fn.avg<number>(eb.case().when('outcome', '=', 'success').then(eb.ref('duration_ms')).end()).as('avg'),
        ])
        .where('day', '>=', since)
        .groupBy('day')
        .orderBy('day')
        .execute();
      const total = Number(totals.total);
      const failed = Number(totals.failed ?? 0);
      return {
        total,
        failed,
        succeeded: total - failed,
        refused: Number(totals.refused ?? 0),
        averageDurationMs: totals.avg === null ? null : Number(totals.avg),
        averageAcceptedDurationMs: totals.avg_accepted === null ? null : Number(totals.avg_accepted),
        perDay: perDay.map((d) => ({
          day: d.day,
          total: Number(d.total),
          failed: Number(d.failed ?? 0),
          bytes: Number(d.bytes ?? 0),
          averageDurationMs: d.avg === null ? null : Number(d.avg),
        })),
      } satisfies UploadStats;
    },

    async storageUsage() {
      const [images, blobs] = await Promise.all([
        // Images in the library; the trash's still hold their bytes, which the blob figures count.
        db.selectFrom('images').where('trashed_at', 'is', null).select((eb) => [eb.fn.countAll<number>().as('count'), eb.fn.sum<number>('bytes').as('bytes')]).executeTakeFirstOrThrow(),
        db.selectFrom('blobs').select((eb) => [eb.fn.countAll<number>().as('count'), eb.fn.sum<number>('bytes').as('bytes')]).executeTakeFirstOrThrow(),
      ]);
      return {
        images: Number(images.count),
        imageBytes: Number(images.bytes ?? 0),
        blobs: Number(blobs.count),
        blobBytes: Number(blobs.bytes ?? 0),
      } satisfies StorageUsage;
    },
  };
}
