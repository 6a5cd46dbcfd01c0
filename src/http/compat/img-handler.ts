// Seed 000 (img_handler): private uploads with readable, collision-safe names behind one static admin token (COMPAT.md §3).
import type { FastifyReply, FastifyRequest } from 'fastify';
import { isAdmin } from '../../auth/policy.js';
import { isImgdError } from '../../core/errors.js';
import type { HttpContext } from '../context.js';
import { sendOriginal } from '../routes/serve.js';
import { sendDetail } from './answers.js';
import type { CompatProfile } from './profile.js';

/** 401 with `WWW-Authenticate: Bearer`, as FastAPI's HTTPBearer answers. */
function unauthorized(reply: FastifyReply, message: string): FastifyReply {
  reply.header('www-authenticate', 'Bearer');
  return sendDetail(reply, 401, message);
}

/**
 * The seed's check: `Authorization: <scheme> <credential>` split at the first space, the scheme `bearer` in any
 * case; the credential is the admin token (or an admin's API key or session), compared in constant time.
 * Answers the refusal and returns false, or returns true.
 */
async function authenticated(ctx: HttpContext, request: FastifyRequest, reply: FastifyReply): Promise<boolean> {
  const header = request.headers.authorization ?? '';
  const space = header.indexOf(' ');
  const scheme = space === -1 ? header : header.slice(0, space);
  const credential = space === -1 ? '' : header.slice(space + 1);
  if (scheme.toLowerCase() !== 'bearer' || credential === '') {
    unauthorized(reply, 'Missing bearer token');
    return false;
  }
  const actor = await ctx.resolveCredential(credential).catch(() => undefined);
  if (!actor || !isAdmin(actor)) {
    unauthorized(reply, 'Invalid token');
    return false;
  }
  request.actor = actor;
  return true;
}

/** A client's name reduced to its last `/` segment; undefined for `.`, `..` and nothing. */
export function lastSegment(name: string): string | undefined {
  const last = name.split('/').pop() ?? '';
  return last === '' || last === '.' || last === '..' ? undefined : last;
}

export const imgHandler: CompatProfile = {
  name: 'img_handler',
  style: 'fastapi',
  routes: [
    { method: 'GET', path: '/images/:filename' },
    { method: 'GET', path: '/image/:filename' },
  ],
  async register(app, ctx) {
    const retrieve = async (request: FastifyRequest<{ Params: { filename: string } }>, reply: FastifyReply): Promise<FastifyReply> => {
      if (!(await authenticated(ctx, request, reply))) return reply;
      const name = lastSegment(request.params.filename);
      if (name === undefined) return sendDetail(reply, 400, 'Invalid filename');
      try {
        const image = await ctx.images.findServable(request.actor, name);
        return await sendOriginal(ctx, request, reply, image);
      } catch (err) {
        if (isImgdError(err) && err.code === 'not_found') return sendDetail(reply, 404, 'Image not found');
        throw err;
      }
    };
    for (const path of ['/images/:filename', '/image/:filename']) app.get(path, retrieve);
  },
};
