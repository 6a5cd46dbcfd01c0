// COMPAT profile attachments (seed 002): who calls, from `Authorization: Bearer <JWT>`, and its 401 answers.
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ImgdError } from '../../core/errors.js';
import type { Actor } from '../../core/access/actor.js';
import type { HttpContext } from '../context.js';
import { statusOf } from '../error-codes.js';
import { sendDetail } from './answers.js';

const NOT_AUTHENTICATED = 'Not authenticated';
export const INVALID_CREDENTIALS = 'Could not validate credentials';

/** A 401 the way FastAPI's OAuth2PasswordBearer and the seed answered it. */
export const unauthorized = (reply: FastifyReply, message: string): FastifyReply => {
  reply.header('www-authenticate', 'Bearer');
  return sendDetail(reply, 401, message);
};

/** The caller, from `Authorization: Bearer <JWT>` (or an imgd API key, or the admin token); undefined once answered 401. */
export function bearerCaller(ctx: Pick<HttpContext, 'resolveCredential'>): (request: FastifyRequest, reply: FastifyReply) => Promise<Actor | undefined> {
  return async (request, reply) => {
    const header = request.headers.authorization ?? '';
    const space = header.indexOf(' ');
    const scheme = space === -1 ? header : header.slice(0, space);
    if (header === '' || scheme.toLowerCase() !== 'bearer') {
      unauthorized(reply, NOT_AUTHENTICATED);
      return undefined;
    }
    const token = header.slice(space + 1).trim();
    try {
      const actor = token === '' ? undefined : await ctx.resolveCredential(token);
      if (actor && (actor.kind === 'user' || actor.kind === 'admin')) {
        request.actor = actor;
        return actor;
      }
    } catch (err) {
      if (!(err instanceof ImgdError) || statusOf(err.code) >= 500) throw err;
    }
    unauthorized(reply, INVALID_CREDENTIALS);
    return undefined;
  };
}
