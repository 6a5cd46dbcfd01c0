// User management for admins: add, change role, disable or enable, reset a password, delete; and the effective settings.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { requireAdmin } from '../../core/access/policy.js';
import { ImgdError } from '../../core/errors.js';
import type { HttpContext } from '../context.js';
import { problems, RoleSchema, UserSchema, userView } from './account-schemas.js';

const UserId = Type.Object({ id: Type.String({ maxLength: 64 }) });

const SettingSchema = Type.Object({
  name: Type.String(),
  value: Type.Union([Type.String(), Type.Number(), Type.Boolean(), Type.Array(Type.Union([Type.String(), Type.Number()])), Type.Null()], {
    description: 'The effective value; null when unset; secrets are shown as ********',
  }),
  source: Type.Union([Type.Literal('env'), Type.Literal('file'), Type.Literal('default')]),
  from: Type.Union([Type.String(), Type.Null()], { description: 'The environment variable (or alias) or the CONFIG_FILE it was read from' }),
  secret: Type.Boolean(),
  note: Type.Optional(Type.String()),
});

/** What an unset secret means: one generated into the data dir. */
const GENERATED: Record<string, string> = {
  AUTH_TOKEN: 'unset: generated into DATA_DIR/auth_token',
  JWT_SECRET: 'unset: generated into DATA_DIR/signing_key',
};

export function userRoutes(ctx: HttpContext): FastifyPluginAsyncTypebox {
  const { accounts, config } = ctx;

  return async (app) => {
    app.post(
      '/api/v1/users',
      {
        schema: {
          summary: 'Add a user (admin), whatever the registration mode',
          operationId: 'createUser',
          tags: ['users'],
          body: Type.Object(
            {
              username: Type.String({ maxLength: 64 }),
              email: Type.String({ maxLength: 320 }),
              password: Type.String({ maxLength: 1024 }),
              role: Type.Optional(RoleSchema),
            },
            { additionalProperties: false },
          ),
          response: { 201: UserSchema, ...problems(400, 401, 403, 409) },
        },
      },
      async (request, reply) => {
        const { role = 'user', ...input } = request.body;
        const user = await accounts.createUser(request.actor, input, role, request.ip);
        return reply.code(201).send(userView(user));
      },
    );

    app.patch(
      '/api/v1/users/:id',
      {
        schema: {
          summary: "Change a user's role, or disable or enable the account (admin)",
          description: 'A disabled user cannot sign in, and their sessions and API keys are refused until enabled again. The last admin cannot be demoted; no admin can disable themselves.',
          operationId: 'updateUser',
          tags: ['users'],
          params: UserId,
          body: Type.Object({ role: Type.Optional(RoleSchema), disabled: Type.Optional(Type.Boolean()) }, { additionalProperties: false, minProperties: 1 }),
          response: { 200: UserSchema, ...problems(400, 401, 403, 404, 409) },
        },
      },
      async (request) => {
        const { id } = request.params;
        requireAdmin(request.actor);
        // Checked before anything changes, so that a refused request leaves the role as it was too.
        if (request.body.disabled === true && request.actor.kind === 'user' && request.actor.user.id === id) {
          throw new ImgdError('conflict', 'You cannot disable your own account.');
        }
        if (request.body.role !== undefined) await accounts.setUserRole(request.actor, id, request.body.role, request.ip);
        if (request.body.disabled !== undefined) await accounts.setUserDisabled(request.actor, id, request.body.disabled, request.ip);
        const user = await accounts.userById(id);
        return userView(user!);
      },
    );

    app.post(
      '/api/v1/users/:id/password',
      {
        schema: {
          summary: "Reset a user's password (admin); their sessions end, their API keys stay",
          operationId: 'resetUserPassword',
          tags: ['users'],
          params: UserId,
          body: Type.Object({ password: Type.String({ maxLength: 1024 }) }, { additionalProperties: false }),
          response: { 204: Type.Null(), ...problems(400, 401, 403, 404) },
        },
      },
      async (request, reply) => {
        await accounts.setUserPassword(request.actor, request.params.id, request.body.password, request.ip);
        return reply.code(204).send(null);
      },
    );

    app.delete(
      '/api/v1/users/:id',
      {
        schema: {
          summary: 'Delete a user (admin): their keys and sessions go, their images stay without an owner',
          operationId: 'deleteUser',
          tags: ['users'],
          params: UserId,
          response: { 204: Type.Null(), ...problems(401, 403, 404, 409) },
        },
      },
      async (request, reply) => {
        await accounts.deleteUser(request.actor, request.params.id, request.ip);
        return reply.code(204).send(null);
      },
    );

    app.get(
      '/api/v1/admin/settings',
      {
        schema: {
          summary: 'The effective configuration (admin): every setting, its value with secrets masked, and where it came from',
          operationId: 'getSettings',
          tags: ['admin'],
          response: { 200: Type.Object({ items: Type.Array(SettingSchema) }), ...problems(401, 403) },
        },
      },
      async (request) => {
        requireAdmin(request.actor);
        return {
          items: config.report.map((s) => ({ ...s, value: s.value as never, ...(s.value === null && GENERATED[s.name] && { note: GENERATED[s.name] }) })),
        };
      },
    );
  };
}
