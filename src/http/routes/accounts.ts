// Account routes: register, sign in, me, password, API keys and upload tokens (credentials.ts), invites, users, audit log.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type, type Static } from '@sinclair/typebox';
import type { FastifyRequest } from 'fastify';
import { requireAuthenticated } from '../../core/access/policy.js';
import { ImgdError } from '../../core/errors.js';
import { SCOPES, type Actor } from '../../core/access/actor.js';
import { ROLES } from '../../core/accounts/user.js';
import type { HttpContext } from '../context.js';
import { Nullable } from '../image-view.js';
import { problems } from '../openapi.js';
import { perAddressAndAccount, perAddressOnSuccess } from '../rate-limits.js';
import { setSessionCookies } from '../session-cookies.js';
import { ScopeSchema, UserSchema, userView } from './account-schemas.js';
import { credentialRoutes } from './credentials.js';

const MeSchema = Type.Object({
  id: Nullable(Type.String({ description: 'The user; for an upload token, the user it uploads for; null for the admin token' })),
  username: Nullable(Type.String()),
  email: Nullable(Type.String()),
  role: Type.Unsafe<(typeof ROLES)[number] | null>({ type: ['string', 'null'], enum: [...ROLES, null] }),
  created_at: Nullable(Type.String({ format: 'date-time' })),
  credential: Type.Unsafe<'session' | 'api_key' | 'admin_token' | 'upload_token'>({ type: 'string', enum: ['session', 'api_key', 'admin_token', 'upload_token'] }),
  scopes: Type.Array(ScopeSchema),
});
const AuditSchema = Type.Object({
  id: Type.String(),
  at: Type.String({ format: 'date-time' }),
  actor: Type.String({ description: 'Who: `admin`, `user:<id>`, `key:<id>`, `token:<id>`, …' }),
  action: Type.String({ description: 'What: image.upload, image.delete, image.share, apikey.create, …' }),
  target: Nullable(Type.String()),
  ip: Nullable(Type.String()),
  details: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
});

function meView(actor: Actor): Static<typeof MeSchema> {
  switch (actor.kind) {
    case 'user':
      return { ...userView(actor.user), credential: actor.apiKeyId ? 'api_key' : 'session', scopes: [...actor.scopes] };
    case 'admin':
      return { id: null, username: null, email: null, role: 'admin', created_at: null, credential: 'admin_token', scopes: [...SCOPES] };
    case 'upload_token':
      return { id: actor.grant.ownerId, username: null, email: null, role: null, created_at: null, credential: 'upload_token', scopes: ['upload'] };
    case 'anonymous':
      throw new ImgdError('unauthorized', 'This needs a credential: send Authorization: Bearer <token>.');
  }
}

export function accountRoutes(ctx: HttpContext): FastifyPluginAsyncTypebox {
  const { accounts, config } = ctx;
  const limits = config.rateLimits;

  return async (app) => {
    // Sign-ins are counted by address and by the username they target, whatever credential comes along.
    const limited = (route: string, max: number, accountOf: (request: FastifyRequest) => string | undefined) => {
      const preHandler = perAddressAndAccount(app, route, max, limits.windowSeconds, accountOf);
      return preHandler ? { preHandler } : {};
    };
    const named = (request: FastifyRequest): string | undefined => {
      const username = (request.body as { username?: unknown } | undefined)?.username;
      return typeof username === 'string' ? username.trim().toLowerCase() : undefined;
    };

    // Registrations count the accounts they create, per address: a refused one costs nothing (COMPAT.md §2.8).
    const registerLimit = perAddressOnSuccess(app, 'register', limits.register, limits.windowSeconds);
    app.post(
      '/api/v1/auth/register',
      {
        ...(registerLimit && { preHandler: registerLimit.check }),
        schema: {
          operationId: 'registerUser', summary: `Create an account (registration is ${config.auth.registration} on this server)`,
          tags: ['accounts'],
          security: [],
          body: Type.Object(
            {
              username: Type.String({ maxLength: 64 }),
              email: Type.String({ maxLength: 320 }),
              password: Type.String({ maxLength: 1024 }),
              invite: Type.Optional(Type.String({ maxLength: 200 })),
            },
            { additionalProperties: false },
          ),
          response: { 201: UserSchema, ...problems(400, 403, 409, 429) },
        },
      },
      async (request, reply) => {
        const user = await accounts.register(request.body, request.ip);
        await registerLimit?.count(request);
        return reply.code(201).send(userView(user));
      },
    );

    app.post(
      '/api/v1/auth/token',
      {
        ...limited('login', limits.login, named),
        schema: {
          operationId: 'createToken', summary: 'Sign in (OAuth2 password form): a bearer JWT',
          tags: ['accounts'],
          security: [],
          consumes: ['application/x-www-form-urlencoded'],
          body: Type.Object({
            username: Type.String({ maxLength: 320 }),
            password: Type.String({ maxLength: 1024 }),
            grant_type: Type.Optional(Type.String()),
            scope: Type.Optional(Type.String()),
          }),
          response: {
            200: Type.Object({ access_token: Type.String(), token_type: Type.Literal('bearer'), expires_in: Type.Integer() }),
            ...problems(400, 401, 429),
          },
        },
      },
      async (request) => {
        const { username, password, grant_type: grant } = request.body;
        if (grant !== undefined && grant !== 'password') {
          throw new ImgdError('validation_failed', 'grant_type must be "password".', { field: 'grant_type' });
        }
        const user = await accounts.login(username, password, request.ip);
        const { token, expiresIn } = await ctx.sessions.sign({ userId: user.id, generation: user.sessionGeneration });
        return { access_token: token, token_type: 'bearer' as const, expires_in: expiresIn };
      },
    );

    app.get(
      '/api/v1/auth/me',
      { schema: { operationId: 'getMe', summary: 'Who the credential belongs to', tags: ['accounts'], response: { 200: MeSchema, ...problems(401) } } },
      async (request) => meView(request.actor),
    );

    app.post(
      '/api/v1/auth/password',
      {
        // Guesses at the current password count against the user, however many sessions they come from.
        ...limited('password', limits.login, (request) => (request.actor.kind === 'user' ? request.actor.user.id : undefined)),
        schema: {
          summary: 'Change your password (signed in as the user); your other sessions end, this browser gets a new one',
          operationId: 'changePassword',
          tags: ['accounts'],
          body: Type.Object({ current_password: Type.String({ maxLength: 1024 }), new_password: Type.String({ maxLength: 1024 }) }, { additionalProperties: false }),
          response: { 204: Type.Null({ description: 'Changed; other sessions end' }), ...problems(400, 401, 403) },
        },
      },
      async (request, reply) => {
        requireAuthenticated(request.actor);
        await accounts.changePassword(request.actor, request.body.current_password, request.body.new_password, request.ip);
        // Every session ended with the old password; the browser that changed it stays signed in, with a new one.
        if (request.actor.kind === 'user' && request.actor.sessionId !== undefined) {
          const { secret } = await ctx.browserSessions.start(request.actor.user.id, { userAgent: request.headers['user-agent'] ?? null, ip: request.ip });
          setSessionCookies(request, reply, secret, ctx.csrfToken(secret), ctx.browserSessions.timing.lifetimeSeconds);
        }
        return reply.code(204).send(null);
      },
    );

    credentialRoutes(app, ctx);

    app.post(
      '/api/v1/invites',
      {
        schema: {
          summary: 'Mint an invite (admin): single use, expiring; it lets one person register even when registration is closed',
          operationId: 'createInvite',
          tags: ['accounts'],
          body: Type.Object(
            { role: Type.Union(ROLES.map((r) => Type.Literal(r)), { default: 'user' }), expires_in: Type.Integer({ minimum: 60, default: 7 * 86_400 }) },
            { additionalProperties: false },
          ),
          response: {
            201: Type.Object({
              invite: Type.String(),
              url: Type.String({ description: 'The sign-up page with the invite filled in, to send to the person' }),
              expires_at: Type.String({ format: 'date-time' }),
            }),
            ...problems(400, 401, 403),
          },
        },
      },
      async (request, reply) => {
        const { secret, expiresAt } = await accounts.createInvite(request.actor, request.body.role, request.body.expires_in);
        return reply.code(201).send({ invite: secret, url: `${ctx.publicUrl()}/app/register?invite=${encodeURIComponent(secret)}`, expires_at: expiresAt });
      },
    );

    app.get(
      '/api/v1/users',
      { schema: { operationId: 'listUsers', summary: 'All users (admin)', tags: ['accounts'], response: { 200: Type.Object({ items: Type.Array(UserSchema) }), ...problems(401, 403) } } },
      async (request) => ({ items: (await accounts.listUsers(request.actor)).map(userView) }),
    );

    app.get(
      '/api/v1/audit',
      {
        schema: {
          operationId: 'listAudit', summary: 'The audit log, newest first (admin)',
          tags: ['accounts'],
          querystring: Type.Object({ limit: Type.Integer({ minimum: 1, maximum: 1000, default: 100 }) }, { additionalProperties: false }),
          response: { 200: Type.Object({ items: Type.Array(AuditSchema) }), ...problems(400, 401, 403) },
        },
      },
      async (request) => {
        return { items: await accounts.auditLog(request.actor, request.query.limit) };
      },
    );
  };
}
