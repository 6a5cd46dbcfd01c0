// Albums in the JSON API: make, list, rename, delete, add and remove images, and share by a signed link.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { AlbumRecord } from '../../core/images/albums-repo.js';
import { ALBUM_NAME_MAX } from '../../core/images/albums.js';
import type { Actor } from '../../core/access/actor.js';
import type { HttpContext } from '../context.js';
import { Nullable } from '../image-view.js';
import { IdParams, ImageRef, imageViews, PageOf, pageOf, problems, shareUntil } from '../route-parts.js';

export const AlbumSchema = Type.Object(
  {
    id: Type.String(),
    name: Type.String(),
    owner_id: Nullable(Type.String()),
    image_count: Type.Integer({ description: 'Images in it that are not in the trash' }),
    cover: Type.Union([ImageRef, Type.Null()], { description: 'Its newest image' }),
    created_at: Type.String({ format: 'date-time' }),
    updated_at: Type.String({ format: 'date-time' }),
  },
  { $id: 'Album' },
);

const AlbumRef = Type.Ref('Album');
const NameBody = Type.Object({ name: Type.String({ minLength: 1, maxLength: ALBUM_NAME_MAX }) }, { additionalProperties: false });
const Page = Type.Object({ limit: Type.Integer({ minimum: 1, maximum: 100, default: 50 }), cursor: Type.Optional(Type.String({ maxLength: 512 })) });

export function albumRoutes(ctx: HttpContext): FastifyPluginAsyncTypebox {
  const { albums, accounts, config } = ctx;
  const viewFor = imageViews(ctx);
  const albumView = async (actor: Actor, album: AlbumRecord) => {
    const cover = album.coverImageId === null ? undefined : await ctx.catalog.getImage(album.coverImageId);
    return {
      id: album.id,
      name: album.name,
      owner_id: album.ownerId,
      image_count: album.imageCount,
      cover: cover ? viewFor(actor)(cover) : null,
      created_at: album.createdAt,
      updated_at: album.updatedAt,
    };
  };

  return async (app) => {
    app.addSchema(AlbumSchema);

    app.post(
      '/api/v1/albums',
      { schema: { operationId: 'createAlbum', summary: 'Make an album', tags: ['albums'], body: NameBody, response: { 201: AlbumRef, ...problems(400, 401, 403) } } },
      async (request, reply) => {
        const album = await albums.create(request.actor, request.body.name);
        await accounts.audit.record(request.actor, 'album.create', album.id, request.ip);
        return reply.code(201).send(await albumView(request.actor, album));
      },
    );

    app.get(
      '/api/v1/albums',
      {
        schema: {
          operationId: 'listAlbums',
          summary: 'Your albums, newest first (admins: everyone\'s, or one owner\'s)',
          tags: ['albums'],
          querystring: Type.Object({ ...Page.properties, owner: Type.Optional(Type.String({ maxLength: 64 })) }, { additionalProperties: false }),
          response: { 200: PageOf(AlbumRef), ...problems(400, 401, 403) },
        },
      },
      async (request) => {
        const { limit, cursor, owner } = request.query;
        const page = await albums.list(request.actor, owner, limit, cursor);
        return { items: await Promise.all(page.items.map((a) => albumView(request.actor, a))), next_cursor: page.nextCursor };
      },
    );

    app.get(
      '/api/v1/albums/:id',
      { schema: { operationId: 'getAlbum', summary: 'One album', tags: ['albums'], params: IdParams, response: { 200: AlbumRef, ...problems(401, 403, 404) } } },
      async (request) => albumView(request.actor, await albums.get(request.actor, request.params.id)),
    );

    app.patch(
      '/api/v1/albums/:id',
      { schema: { operationId: 'renameAlbum', summary: 'Rename an album', tags: ['albums'], params: IdParams, body: NameBody, response: { 200: AlbumRef, ...problems(400, 401, 403, 404) } } },
      async (request) => {
        const album = await albums.rename(request.actor, request.params.id, request.body.name);
        await accounts.audit.record(request.actor, 'album.rename', album.id, request.ip);
        return albumView(request.actor, album);
      },
    );

    app.delete(
      '/api/v1/albums/:id',
      { schema: { operationId: 'deleteAlbum', summary: 'Delete an album (its images stay in the library)', tags: ['albums'], params: IdParams, response: { 204: Type.Null(), ...problems(401, 403, 404) } } },
      async (request, reply) => {
        await albums.remove(request.actor, request.params.id);
        await accounts.audit.record(request.actor, 'album.delete', request.params.id, request.ip);
        return reply.code(204).send(null);
      },
    );

    app.get(
      '/api/v1/albums/:id/images',
      {
        schema: {
          operationId: 'listAlbumImages',
          summary: 'The images of an album, newest first (trashed ones are left out)',
          tags: ['albums'],
          params: IdParams,
          querystring: Type.Object(Page.properties, { additionalProperties: false }),
          response: { 200: PageOf(ImageRef), ...problems(400, 401, 403, 404) },
        },
      },
      async (request) => {
        const page = await albums.images(request.actor, request.params.id, request.query.limit, request.query.cursor);
        return pageOf(page, viewFor(request.actor));
      },
    );

    app.put(
      '/api/v1/albums/:id/images/:imageId',
      {
        schema: {
          operationId: 'addAlbumImage',
          summary: 'Put an image in an album (your own images; admins any); for many at once, POST /api/v1/images/bulk with add_to_album',
          tags: ['albums'],
          params: Type.Object({ id: Type.String({ maxLength: 64 }), imageId: Type.String({ maxLength: 64 }) }),
          response: { 204: Type.Null(), ...problems(401, 403, 404) },
        },
      },
      async (request, reply) => {
        if (await albums.addImage(request.actor, request.params.id, request.params.imageId)) {
          await accounts.audit.record(request.actor, 'album.add', request.params.id, request.ip, { image: request.params.imageId });
        }
        return reply.code(204).send(null);
      },
    );

    app.delete(
      '/api/v1/albums/:id/images/:imageId',
      {
        schema: {
          operationId: 'removeAlbumImage',
          summary: 'Take an image out of an album (the image stays in the library)',
          tags: ['albums'],
          params: Type.Object({ id: Type.String({ maxLength: 64 }), imageId: Type.String({ maxLength: 64 }) }),
          response: { 204: Type.Null(), ...problems(401, 403, 404) },
        },
      },
      async (request, reply) => {
        await albums.removeImage(request.actor, request.params.id, request.params.imageId);
        await accounts.audit.record(request.actor, 'album.remove', request.params.id, request.ip, { image: request.params.imageId });
        return reply.code(204).send(null);
      },
    );

    app.post(
      '/api/v1/albums/:id/share',
      {
        schema: {
          operationId: 'shareAlbum',
          summary: 'A signed link to the album\'s viewer page, which shows its images (private ones too) to anyone until it expires',
          tags: ['albums'],
          params: IdParams,
          body: Type.Object({ expires_in: Type.Integer({ minimum: 1, default: 3600 }) }, { additionalProperties: false }),
          response: { 200: Type.Object({ url: Type.String(), expires_at: Type.String({ format: 'date-time' }) }), ...problems(400, 401, 403, 404) },
        },
      },
      async (request) => {
        const { expires_in: expiresIn } = request.body;
        const until = shareUntil(expiresIn, config.auth.shareMaxSeconds);
        const album = await albums.shareable(request.actor, request.params.id);
        const { expires, sig } = ctx.albumShares.sign(album.id, until);
        await accounts.audit.record(request.actor, 'album.share', album.id, request.ip, { expires_in: expiresIn });
        return { url: `${ctx.publicUrl()}/v/a/${album.id}?expires=${expires}&sig=${sig}`, expires_at: new Date(expires * 1000).toISOString() };
      },
    );
  };
}
