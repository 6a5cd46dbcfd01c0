// The library operations of the JSON API: bulk changes to a selection, and downloads (one original, or a zip).
import { once } from 'node:events';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { BULK_ACTIONS, BULK_MAX, runBulk } from '../../core/images/bulk.js';
import type { ImageRecord } from '../../core/images/image.js';
import type { HttpContext } from '../context.js';
import { attachment } from '../content-disposition.js';
import { statusOf } from '../error-codes.js';
import { IdParams, problems } from '../route-parts.js';

const Ids = Type.Array(Type.String({ maxLength: 64 }), { minItems: 1, maxItems: BULK_MAX, description: `1 to ${BULK_MAX} image ids` });

const BulkResult = Type.Object({
  id: Type.String(),
  ok: Type.Boolean(),
  status: Type.Integer({ description: 'What this image\'s operation alone would have answered' }),
  code: Type.Optional(Type.String()),
  detail: Type.Optional(Type.String()),
});

/** A body that is bytes (a stream), for the document only. */
const Binary = (description: string) => Type.Unsafe<unknown>({ type: 'string', format: 'binary', description });

/** The name an image is downloaded under: the name it was uploaded with, else its stored name. */
const downloadName = (image: ImageRecord): string => {
  const original = image.originalName;
  if (!original) return image.filename;
  const ext = image.filename.slice(image.filename.lastIndexOf('.'));
  return original.toLowerCase().endsWith(ext) ? original : image.filename;
};

/** Names unique within one zip: a second `a.jpg` becomes `a (2).jpg`. */
function uniqueNames(images: readonly ImageRecord[]): string[] {
  const taken = new Set<string>();
  return images.map((image) => {
    const name = downloadName(image).replace(/[/\\]/g, '_');
    const dot = name.lastIndexOf('.');
    let candidate = name;
    for (let n = 2; taken.has(candidate.toLowerCase()); n += 1) candidate = `${name.slice(0, dot)} (${n})${name.slice(dot)}`;
    taken.add(candidate.toLowerCase());
    return candidate;
  });
}

export function libraryRoutes(ctx: HttpContext): FastifyPluginAsyncTypebox {
  const { images, accounts, serving } = ctx;
  return async (app) => {
    app.post(
      '/api/v1/images/bulk',
      {
        schema: {
          operationId: 'bulkImages',
          summary: 'Do one thing to many images: trash, restore, purge, set_visibility, add_to_album, remove_from_album',
          description:
            'Each image is done on its own and gets its own result (`ok`, and the status, code and detail it would have got alone): ' +
            'an unknown id, or someone else\'s image, fails that item only. A request that is wrong as a whole (a missing ' +
            '`visibility` or `album_id`, an album that is not yours) is refused and nothing is done.',
          tags: ['images'],
          body: Type.Object(
            {
              action: Type.Union(BULK_ACTIONS.map((a) => Type.Literal(a))),
              ids: Ids,
              visibility: Type.Optional(Type.Union([Type.Literal('public'), Type.Literal('private')])),
              album_id: Type.Optional(Type.String({ maxLength: 64 })),
            },
            { additionalProperties: false },
          ),
          response: { 200: Type.Object({ results: Type.Array(BulkResult) }), ...problems(400, 401, 403, 404) },
        },
      },
      async (request) => {
        const { action, ids, visibility, album_id: albumId } = request.body;
        const audited = { trash: 'image.delete', restore: 'image.restore', purge: 'image.purge', set_visibility: 'image.update', add_to_album: 'album.add', remove_from_album: 'album.remove' }[action];
        const results = await runBulk(ctx, request.actor, { action, ids, visibility, albumId }, (id) =>
          accounts.audit.record(request.actor, audited, id, request.ip, { bulk: true, ...(action === 'trash' && { to: 'trash' }) }),
        );
        return { results: results.map((r) => ({ ...r, status: r.code === undefined ? 200 : statusOf(r.code) })) };
      },
    );

    app.get(
      '/api/v1/images/:id/download',
      {
        schema: {
          operationId: 'downloadImage',
          summary: 'The original bytes as a download (Content-Disposition: attachment, under the name it was uploaded with)',
          tags: ['images'],
          params: IdParams,
          response: { 200: Binary('The image bytes'), ...problems(401, 403, 404) },
        },
      },
      async (request, reply) => {
        const image = await images.get(request.actor, request.params.id);
        reply.header('content-type', image.contentType).header('content-length', image.bytes).header('content-disposition', attachment(downloadName(image)));
        reply.header('cache-control', 'private, no-store');
        return reply.send(await serving.original(image).body());
      },
    );

    app.post(
      '/api/v1/images/download',
      {
        schema: {
          operationId: 'downloadZip',
          summary: 'A zip of the originals of a selection, streamed as it is made',
          description: 'Every id must name an image you may see, or nothing is sent (404 names the first that does not). Entries are stored, not compressed: images are compressed already.',
          tags: ['images'],
          body: Type.Object({ ids: Ids }, { additionalProperties: false }),
          response: { 200: Binary('application/zip'), ...problems(400, 401, 403, 404) },
        },
      },
      async (request, reply) => {
        const selected: ImageRecord[] = [];
        for (const id of new Set(request.body.ids)) selected.push(await images.get(request.actor, id));
        const names = uniqueNames(selected);
        // Loaded on the first download: archiver and its streams were a tenth of a second of every start.
        const { ZipArchive } = await import('archiver');
        const zip = new ZipArchive({ store: true });
        zip.on('warning', (err) => request.log.warn({ err: err.message }, 'zip warning'));
        reply.header('content-type', 'application/zip').header('content-disposition', attachment(`imgd-${selected.length}-images.zip`)).header('cache-control', 'private, no-store');
        // One original open at a time: the archive asks for the next once the last is in, so memory stays bounded.
        void (async () => {
          for (const [i, image] of selected.entries()) {
            const entry = once(zip, 'entry');
            zip.append(await serving.original(image).body(), { name: names[i]!, date: new Date(image.createdAt) });
            await entry;
          }
          await zip.finalize();
        })().catch((err: unknown) => {
          request.log.warn({ err: (err as Error).message }, 'zip download cut short');
          zip.destroy(err as Error);
        });
        return reply.send(zip);
      },
    );
  };
}
