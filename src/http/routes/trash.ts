// The trash of the JSON API: list it, restore or purge one image, empty it.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { HttpContext } from '../context.js';
import { ImageSchema } from '../image-view.js';
import { IdParams, ImageRef, imageViews, PageOf, pageOf, problems } from '../route-parts.js';

export const TrashedImageSchema = Type.Object(
  {
    ...ImageSchema.properties,
    trashed_at: Type.String({ format: 'date-time' }),
    purge_at: Type.String({ format: 'date-time', description: 'When it goes for good (TRASH_DAYS after it was trashed)' }),
  },
  { $id: 'TrashedImage' },
);

const OwnerQuery = Type.Optional(Type.String({ maxLength: 64, description: 'Owner user id (admins; users always get their own)' }));

export function trashRoutes(ctx: HttpContext): FastifyPluginAsyncTypebox {
  const { trash, accounts } = ctx;
  const viewFor = imageViews(ctx);
  return async (app) => {
    app.addSchema(TrashedImageSchema);

    app.get(
      '/api/v1/trash',
      {
        schema: {
          operationId: 'listTrash',
          summary: 'The images in the trash, most recently trashed first',
          tags: ['trash'],
          querystring: Type.Object(
            { limit: Type.Integer({ minimum: 1, maximum: 100, default: 50 }), cursor: Type.Optional(Type.String({ maxLength: 512 })), owner: OwnerQuery },
            { additionalProperties: false },
          ),
          response: { 200: PageOf(Type.Ref('TrashedImage')), ...problems(400, 401, 403) },
        },
      },
      async (request) => {
        const { limit, cursor, owner } = request.query;
        const page = await trash.list(request.actor, owner, limit, cursor);
        const view = viewFor(request.actor);
        return pageOf(page, (image) => ({ ...view(image), trashed_at: image.trashedAt, purge_at: trash.purgeAt(image) }));
      },
    );

    app.post(
      '/api/v1/trash/:id/restore',
      {
        schema: {
          operationId: 'restoreImage',
          summary: 'Bring an image back from the trash: it is served again at its URLs',
          tags: ['trash'],
          params: IdParams,
          response: { 200: ImageRef, ...problems(401, 403, 404) },
        },
      },
      async (request) => {
        const image = await trash.restore(request.actor, request.params.id);
        await accounts.audit.record(request.actor, 'image.restore', image.id, request.ip);
        return viewFor(request.actor)(image);
      },
    );

    app.delete(
      '/api/v1/trash/:id',
      {
        schema: {
          operationId: 'purgeImage',
          summary: 'Delete an image in the trash for good (its bytes go with the last reference to them)',
          tags: ['trash'],
          params: IdParams,
          response: { 204: Type.Null(), ...problems(401, 403, 404) },
        },
      },
      async (request, reply) => {
        await trash.purge(request.actor, request.params.id);
        await accounts.audit.record(request.actor, 'image.purge', request.params.id, request.ip);
        return reply.code(204).send(null);
      },
    );

    app.post(
      '/api/v1/trash/empty',
      {
        schema: {
          operationId: 'emptyTrash',
          summary: 'Delete everything in the trash for good: your own (admins: everyone\'s, or one owner\'s)',
          description: 'To purge some images only, use `DELETE /api/v1/trash/{id}` or `POST /api/v1/images/bulk` with `action: purge`.',
          tags: ['trash'],
          body: Type.Optional(Type.Object({ owner: OwnerQuery }, { additionalProperties: false })),
          response: { 200: Type.Object({ purged: Type.Integer() }), ...problems(400, 401, 403) },
        },
      },
      async (request) => {
        const purged = await trash.empty(request.actor, request.body?.owner);
        await accounts.audit.record(request.actor, 'trash.empty', null, request.ip, { purged });
        return { purged };
      },
    );
  };
}
