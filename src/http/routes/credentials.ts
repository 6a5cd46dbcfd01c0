// API keys and upload tokens: created, listed and revoked by their owners (the admin token sees all keys).
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { ApiKeyRecord } from '../../core/accounts/accounts-repo.js';
import type { HttpContext } from '../context.js';
import { problems } from '../openapi.js';
import { ScopeSchema } from './account-schemas.js';

const ApiKeySchema = Type.Object({
  id: Type.String(),
  name: Type.String(),
  prefix: Type.String({ description: 'The first characters of the key, to recognise it' }),
  scopes: Type.Array(ScopeSchema),
  user_id: Type.String(),
  created_at: Type.String({ format: 'date-time' }),
  last_used_at: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
});
const keyView = (k: ApiKeyRecord) => ({
  id: k.id,
  name: k.name,
  prefix: k.prefix,
  scopes: [...k.scopes],
  user_id: k.userId,
  created_at: k.createdAt,
  last_used_at: k.lastUsedAt,
});

type TypeboxApp = Parameters<FastifyPluginAsyncTypebox>[0];

/** Registered inside the account routes, where they have always been in the API document. */
export function credentialRoutes(app: TypeboxApp, ctx: HttpContext): void {
  const { accounts, config } = ctx;

  app.post(
    '/api/v1/api-keys',
    {
      schema: {
        operationId: 'createApiKey', summary: 'Create an API key; the key is shown only in this answer',
        tags: ['api keys'],
        body: Type.Object({ name: Type.String({ maxLength: 100 }), scopes: Type.Array(ScopeSchema, { minItems: 1, maxItems: 4 }) }, { additionalProperties: false }),
        response: { 201: Type.Intersect([ApiKeySchema, Type.Object({ key: Type.String() })]), ...problems(400, 401, 403) },
      },
    },
    async (request, reply) => {
      const { key, secret } = await accounts.createApiKey(request.actor, request.body.name, request.body.scopes, request.ip);
      return reply.code(201).send({ ...keyView(key), key: secret });
    },
  );

  app.get(
    '/api/v1/api-keys',
    { schema: { operationId: 'listApiKeys', summary: 'Your API keys (not revoked); the admin token sees all', tags: ['api keys'], response: { 200: Type.Object({ items: Type.Array(ApiKeySchema) }), ...problems(401, 403) } } },
    async (request) => ({ items: (await accounts.listApiKeys(request.actor)).map(keyView) }),
  );

  app.delete(
    '/api/v1/api-keys/:id',
    {
      schema: {
        operationId: 'revokeApiKey', summary: 'Revoke an API key; it fails from now on',
        tags: ['api keys'],
        params: Type.Object({ id: Type.String({ maxLength: 64 }) }),
        response: { 204: Type.Null({ description: 'Revoked' }), ...problems(401, 404) },
      },
    },
    async (request, reply) => {
      await accounts.revokeApiKey(request.actor, request.params.id, request.ip);
      return reply.code(204).send(null);
    },
  );

  app.post(
    '/api/v1/upload-tokens',
    {
      schema: {
        operationId: 'createUploadToken', summary: 'Mint an upload token bound to a key, a size, an expiry, and optionally one use',
        tags: ['upload tokens'],
        body: Type.Object(
          {
            key: Type.Optional(Type.Union([Type.String({ maxLength: 200 }), Type.Null()])),
            max_bytes: Type.Optional(Type.Union([Type.Integer({ minimum: 1 }), Type.Null()])),
            expires_in: Type.Integer({ minimum: 1, default: config.auth.uploadTokenExpirySeconds }),
            single_use: Type.Boolean({ default: false }),
          },
          { additionalProperties: false },
        ),
        response: {
          201: Type.Object({
            id: Type.String(),
            token: Type.String(),
            key: Type.Union([Type.String(), Type.Null()]),
            max_bytes: Type.Union([Type.Integer(), Type.Null()]),
            single_use: Type.Boolean(),
            expires_at: Type.String({ format: 'date-time' }),
          }),
          ...problems(400, 401, 403),
        },
      },
    },
    async (request, reply) => {
      const b = request.body;
      const { token, secret } = await accounts.mintUploadToken(
        request.actor,
        { key: b.key, maxBytes: b.max_bytes, expiresIn: b.expires_in, singleUse: b.single_use },
        request.ip,
      );
      return reply
        .code(201)
        .send({ id: token.id, token: secret, key: token.key, max_bytes: token.maxBytes, single_use: token.singleUse, expires_at: token.expiresAt });
    },
  );
}
