// Resolves the credential of each request (Authorization: Bearer, ?token= for upload tokens, or the session cookie) to an Actor.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ResolveCredential, ResolveSessionCookie } from '../auth/credentials.js';
import { checkCsrf, clearSessionCookies, SESSION_COOKIE } from './session-cookies.js';
import { ImgdError } from '../core/errors.js';
import { ANONYMOUS, type Actor } from '../core/access/actor.js';

declare module 'fastify' {
  interface FastifyRequest {
    actor: Actor;
  }
  interface FastifyContextConfig {
    /** COMPAT profile routes read their credentials themselves, to refuse them in their seed's words. */
    ownCredentials?: boolean;
    /** @fastify/cors reads this; false leaves CORS to the route (COMPAT profiles). */
    cors?: false;
  }
}

export function bearerToken(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  if (!header) return undefined;
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
  if (!m) throw new ImgdError('unauthorized', 'The Authorization header must be "Bearer <token>".');
  return m[1];
}

function queryToken(request: FastifyRequest): string | undefined {
  const token = (request.query as Record<string, unknown> | undefined)?.token;
  return typeof token === 'string' && token !== '' ? token : undefined;
}

export interface CookieSessions {
  readonly resolve: ResolveSessionCookie;
  csrfToken(secret: string): string;
}

/**
 * A request that presents a credential must present a valid one; none at all is anonymous. A bearer credential wins
 * over the cookie; a session cookie that has ended is dropped and the request is anonymous (a public page still shows).
 */
export function registerActorResolution(app: FastifyInstance, resolve: ResolveCredential, cookies?: CookieSessions): void {
  // Set by the hook below on every request; Fastify's decorator types do not take a union.
  app.decorateRequest('actor' as never, null as never);
  app.addHook('onRequest', async (request, reply) => {
    request.actor = ANONYMOUS;
    if (request.routeOptions.config?.ownCredentials) return;
    const header = bearerToken(request);
    if (header !== undefined) {
      request.actor = await resolve(header);
      return;
    }
    const fromQuery = queryToken(request);
    if (fromQuery === undefined) {
      const secret = cookies && request.cookies?.[SESSION_COOKIE];
      if (!cookies || !secret) return;
      const actor = await cookies.resolve(secret);
      if (!actor) return void clearSessionCookies(request, reply);
      checkCsrf(request, cookies.csrfToken(secret));
      request.actor = actor;
      return;
    }
    const actor = await resolve(fromQuery);
    // Only upload tokens travel in URLs (seed 003); other credentials would end up in proxies' logs.
    if (actor.kind !== 'upload_token') throw new ImgdError('unauthorized', 'Only upload tokens may be sent as ?token=; use Authorization: Bearer.');
    request.actor = actor;
    // The credential is spent here: route schemas and upload fields (PUT takes its fields from the query) must not see it as a field.
    delete (request.query as Record<string, unknown>).token;
  });
}
