// Upload statistics: totals, success rate, average processing time, per day.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { requireAdmin } from '../../core/access/policy.js';
import type { HttpContext } from '../context.js';
import { problems } from '../openapi.js';

const StatsSchema = Type.Object({
  total: Type.Integer(),
  succeeded: Type.Integer(),
  failed: Type.Integer(),
  success_rate: Type.Union([Type.Number(), Type.Null()], { description: 'Fraction of attempts that succeeded (0 to 1)' }),
  average_processing_ms: Type.Union([Type.Number(), Type.Null()], { description: 'Mean time to check and store a successful upload' }),
  per_day: Type.Array(
    Type.Object({
      day: Type.String(),
      total: Type.Integer(),
      failed: Type.Integer(),
      bytes: Type.Integer({ description: 'Bytes of the successful uploads' }),
      average_processing_ms: Type.Union([Type.Number(), Type.Null()]),
    }),
  ),
  storage: Type.Object(
    {
      images: Type.Integer(),
      image_bytes: Type.Integer({ description: 'Sum of the sizes of all images' }),
      blobs: Type.Integer(),
      stored_bytes: Type.Integer({ description: 'Bytes of the distinct originals kept (identical uploads are stored once); variants not included' }),
    },
    { description: 'Now, not over the period' },
  ),
  queue: Type.Record(Type.String(), Type.Integer(), { description: 'Background jobs by state, now' }),
  processing: Type.Record(
    Type.String(),
    Type.Object({
      runs: Type.Integer(),
      failed: Type.Integer(),
      average_ms: Type.Union([Type.Number(), Type.Null()]),
      p95_ms: Type.Union([Type.Number(), Type.Null()]),
    }),
    { description: 'Per processing step (exif, variants, placeholder, caption) over the period' },
  ),
});

const round = (v: number | null): number | null => (v === null ? null : Math.round(v * 100) / 100);

export function statsRoutes(ctx: HttpContext): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.get(
      '/api/v1/stats',
      {
        schema: {
          operationId: 'getStats',
          summary: 'Upload statistics (admin)',
          tags: ['stats'],
          querystring: Type.Object({ days: Type.Integer({ minimum: 1, maximum: 366, default: 30 }) }, { additionalProperties: false }),
          response: { 200: StatsSchema, ...problems(400, 401, 403) },
        },
      },
      async (request) => {
        requireAdmin(request.actor);
        const s = await ctx.catalog.uploadStats(request.query.days);
        const since = new Date(Date.now() - request.query.days * 86_400_000).toISOString();
        const [steps, storage, queue] = await Promise.all([ctx.processingStats(since), ctx.catalog.storageUsage(), ctx.queue.counts()]);
        return {
          total: s.total,
          succeeded: s.succeeded,
          failed: s.failed,
          success_rate: s.total === 0 ? null : s.succeeded / s.total,
          average_processing_ms: round(s.averageDurationMs),
          per_day: s.perDay.map((d) => ({ day: d.day, total: d.total, failed: d.failed, bytes: d.bytes, average_processing_ms: round(d.averageDurationMs) })),
          storage: { images: storage.images, image_bytes: storage.imageBytes, blobs: storage.blobs, stored_bytes: storage.blobBytes },
          queue,
          processing: Object.fromEntries(
            steps.map((st) => [st.step, { runs: st.count, failed: st.failed, average_ms: round(st.averageMs), p95_ms: round(st.p95Ms) }]),
          ),
        };
      },
    );
  };
}
