// Browser sign-in with a session cookie: sign in, sign out, your sessions, revoke one, sign out everywhere.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { FastifyRequest } from 'fastify';
import type { HttpContext } from '../context.js';
import { perAddressAndAccount } from '../rate-limits.js';
import { clearSessionCookies, setSessionCookies, SESSION_COOKIE } from '../session-cookies.js';
import { problems, SessionSchema, sessionView, UserSchema, userView } from './account-schemas.js';

const currentSession = (request: FastifyRequest): string | undefined => (request.actor.kind === 'user' ? request.actor.sessionId : undefined);

export function sessionRoutes(ctx: HttpContext): FastifyPluginAsyncTypebox {
  const { accounts, browserSessions, config } = ctx;
  const limits = config.rateLimits;

  return async (app) => {
    // Counted with the token sign-in ('login'): one budget of guesses per address and per username.
    const named = (request: FastifyRequest): string | undefined => {
      const username = (request.body as { username?: unknown } | undefined)?.username;
      return typeof username === 'string' ? username.trim().toLowerCase() : undefined;
    };
    const limit = perAddressAndAccount(app, 'login', limits.login, limits.windowSeconds, named);

    app.post(
      '/api/v1/auth/session',
      {
        ...(limit && { preHandler: limit }),
        schema: {
          summary: 'Sign in a browser: sets an HttpOnly session cookie and its CSRF cookie',
          description:
            'The session ends after SESSION_LIFETIME, or SESSION_IDLE_TIMEOUT after its last use. Requests authenticated by the cookie ' +
            'that change something must send the csrf_token (also in the imgd_csrf cookie) in the X-CSRF-Token header.',
          operationId: 'signIn',
          tags: ['sessions'],
          security: [],
          consumes: ['application/json', 'application/x-www-form-urlencoded'],
          body: Type.Object({ username: Type.String({ maxLength: 320 }), password: Type.String({ maxLength: 1024 }) }),
          response: { 200: Type.Object({ user: UserSchema, csrf_token: Type.String(), session: SessionSchema }), ...problems(400, 401, 403, 429) },
        },
      },
      async (request, res) => {
        const user = await accounts.login(request.body.username, request.body.password, request.ip);
        const { secret, session } = await browserSessions.start(user.id, { userAgent: request.headers['user-agent'] ?? null, ip: request.ip });
        const csrf = ctx.csrfToken(secret);
        setSessionCookies(request, res, secret, csrf, browserSessions.timing.lifetimeSeconds);
        return { user: userView(user), csrf_token: csrf, session: sessionView(session, browserSessions.endsAt(session), session.id) };
      },
    );

    app.delete(
      '/api/v1/auth/session',
      {
        schema: {
          summary: 'Sign this browser out: ends its session and drops the cookies',
          operationId: 'signOut',
          tags: ['sessions'],
          response: { 204: Type.Null(), ...problems(403) },
        },
      },
      async (request, res) => {
        const id = currentSession(request);
        if (id !== undefined) await browserSessions.revoke(request.actor, id, request.ip);
        if (request.cookies[SESSION_COOKIE]) clearSessionCookies(request, res);
        return res.code(204).send(null);
      },
    );

    app.get(
      '/api/v1/auth/sessions',
      {
        schema: {
          summary: 'Your signed-in browsers, most recently used first',
          operationId: 'listSessions',
          tags: ['sessions'],
          response: { 200: Type.Object({ items: Type.Array(SessionSchema) }), ...problems(401, 403) },
        },
      },
      async (request) => {
        const current = currentSession(request);
        return { items: (await browserSessions.list(request.actor)).map((s) => sessionView(s, browserSessions.endsAt(s), current)) };
      },
    );

    app.delete(
      '/api/v1/auth/sessions/:id',
      {
        schema: {
          summary: 'End one of your sessions (that browser is signed out at its next request)',
          operationId: 'revokeSession',
          tags: ['sessions'],
          params: Type.Object({ id: Type.String({ maxLength: 64 }) }),
          response: { 204: Type.Null(), ...problems(401, 403, 404) },
        },
      },
      async (request, res) => {
        await browserSessions.revoke(request.actor, request.params.id, request.ip);
        if (request.params.id === currentSession(request)) clearSessionCookies(request, res);
        return res.code(204).send(null);
      },
    );

    app.delete(
      '/api/v1/auth/sessions',
      {
        schema: {
          summary: 'Sign out everywhere: ends every session of yours, browser cookies and bearer session tokens alike',
          description: 'API keys stay valid; revoke them separately.',
          operationId: 'revokeAllSessions',
          tags: ['sessions'],
          response: { 204: Type.Null(), ...problems(401, 403) },
        },
      },
      async (request, res) => {
        await browserSessions.revokeAll(request.actor, request.ip);
        if (request.cookies[SESSION_COOKIE]) clearSessionCookies(request, res);
        return res.code(204).send(null);
      },
    );
  };
}
