// Seed 000 (img_handler): private uploads with readable, collision-safe names behind one static admin token (COMPAT.md §3).
import { randomBytes } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { isAdmin } from '../../core/access/policy.js';
import type { ImageFormat } from '../../core/formats.js';
import { ImgdError, isImgdError } from '../../core/errors.js';
import { utcStamp } from '../../core/upload/naming.js';
import type { HttpContext } from '../context.js';
import { clientFileName } from '../multipart.js';
import { rateLimited } from '../rate-limits.js';
import { sendOriginal } from '../routes/serve.js';
import { missing, sendDetail, sendJson, sendValidation } from './answers.js';
import { READ_METHODS } from './docs.js';
import { readForm } from './form.js';
import { profileLimit } from './formats.js';
import { imgHandlerOperations } from './operations.js';
import type { CompatProfile } from './profile.js';
import { requestBase } from './request-url.js';
import { seedSlug } from './seed-slug.js';

/** Check 3: the declared types the seed took, and the extension each stands for (check 8). */
const DECLARED: Readonly<Record<string, string>> = { 'image/jpeg': '.jpeg', 'image/jpg': '.jpg', 'image/png': '.png', 'image/webp': '.webp', 'image/gif': '.gif' };
/** Check 6: the formats the seed's magic bytes knew, and their extension for check 8. */
const DETECTED: Partial<Record<ImageFormat, string>> = { jpeg: '.jpg', png: '.png', gif: '.gif', webp: '.webp' };

/** os.path.splitext: at the last dot, leading dots being part of the stem; the extension lowercased. */
export function splitSeedName(name: string): { stem: string; ext: string } {
  const dot = name.lastIndexOf('.');
  if (dot <= 0 || /^\.+$/.test(name.slice(0, dot))) return { stem: name, ext: '' };
  return { stem: name.slice(0, dot), ext: name.slice(dot).toLowerCase() };
}

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
    { method: 'POST', path: '/images/upload' },
    { method: 'POST', path: '/upload-image' },
    { method: 'GET', path: '/images/:filename' },
    { method: 'GET', path: '/image/:filename' },
  ],
  async register(app, ctx) {
    const { config } = ctx;
    // Multipart bodies reach the handler unread; any other body too (answered as a missing file).
    app.addContentTypeParser('multipart/form-data', (_request, _payload, done) => done(null));
    app.addContentTypeParser('*', (_request, _payload, done) => done(null));

    /** Checks 1-9 in the seed's order; the image is the admin's, private, named `stored_as`. */
    const upload = (answerPath: string) => async (request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> => {
      if (!(await authenticated(ctx, request, reply))) return reply;
      let declared = '';
      let filename = '';
      // Refusals decided by the naming step (checks 6-9) are thrown from it and answered with their message.
      const ours = new Set<ImgdError>();
      const refuse = (message: string): never => {
        const error = new ImgdError('bad_request', message);
        ours.add(error);
        throw error;
      };
      const batch = await ctx.uploads.begin({
        actor: request.actor,
        ip: request.ip,
        defaults: { visibility: 'private' },
        maxBytes: profileLimit(config),
        name: (file, attempt) => {
          const detected = DETECTED[file.format];
          if (!detected) refuse('Invalid image content');
          const last = lastSegment(filename);
          if (last === undefined) return refuse('Invalid filename');
          const { stem, ext } = splitSeedName(last);
          if (ext !== DECLARED[declared] && ext !== detected) refuse(`Filename extension '${ext}' does not match uploaded image type`);
          const slug = seedSlug(stem);
          if (slug === '') refuse('Filename cannot be slugified');
          if (attempt === 0) return `${slug}${ext}`;
          const stamp = utcStamp();
          return attempt === 1 ? `${slug}_${stamp}${ext}` : `${slug}_${stamp}_${randomBytes(16).toString('hex')}${ext}`;
        },
      });
      let early: { status: number; message: string } | undefined;
      try {
        const form = await readForm(request, 'file', profileLimit(config), async (part) => {
          filename = part.filename ?? '';
          declared = part.mimeType ?? '';
          if (filename === '') early = { status: 400, message: 'Missing filename' };
          else if (!(declared in DECLARED)) early = { status: 415, message: 'Unsupported media type' };
          if (early) {
            await batch.abort(new ImgdError(early.status === 415 ? 'unsupported_media_type' : 'missing_file', early.message), clientFileName(filename));
            part.stream.resume();
            return;
          }
          await batch.receive(part.stream, clientFileName(filename));
        });
        if (early) return sendDetail(reply, early.status, early.message);
        if (!form.sawFile) {
          await batch.abort(new ImgdError('missing_file', 'No file part.'));
          return sendValidation(reply, [missing('body', 'file')]);
        }
      } catch (err) {
        const error = isImgdError(err) ? err : new ImgdError('malformed_multipart', 'The upload was cut short.');
        await batch.abort(error, clientFileName(filename));
        if (error.code === 'file_too_large') return sendDetail(reply, 413, 'File too large');
        throw error;
      }
      const { items, errors } = await batch.finish({});
      const image = items[0];
      if (image) {
        return sendJson(reply, 200, {
          stored_as: image.filename,
          bytes: image.bytes,
          image_url: `${requestBase(request, config.http.trustProxy)}${answerPath}/${encodeURIComponent(image.filename)}`,
        });
      }
      const error = errors[0]?.error;
      if (error && ours.has(error)) return sendDetail(reply, 400, error.message);
      if (error?.code === 'empty_file') return sendDetail(reply, 400, 'Empty file');
      if (error?.code === 'file_too_large') return sendDetail(reply, 413, 'File too large');
      return sendDetail(reply, 400, 'Invalid image content');
    };
    const limited = { config: rateLimited(config.rateLimits.upload, config.rateLimits.windowSeconds) };
    const docs = imgHandlerOperations();
    app.post('/images/upload', { ...limited, ...docs.upload }, upload('/images'));
    app.post('/upload-image', { ...limited, ...docs.uploadLegacy }, upload('/image'));

    const retrieve = async (request: FastifyRequest<{ Params: { filename: string } }>, reply: FastifyReply): Promise<FastifyReply> => {
      if (!(await authenticated(ctx, request, reply))) return reply;
      const name = lastSegment(request.params.filename);
      if (name === undefined) return sendDetail(reply, 400, 'Invalid filename');
      try {
        const image = await ctx.images.findServable(request.actor, { filename: name });
        return await sendOriginal(ctx, request, reply, image);
      } catch (err) {
        if (isImgdError(err) && err.code === 'not_found') return sendDetail(reply, 404, 'Image not found');
        throw err;
      }
    };
    // HEAD answered by the same code, as /i/ does (Fastify's own HEAD route would send no Content-Length).
    for (const [url, name] of [['/images/:filename', 'Image'], ['/image/:filename', 'ImageLegacy']] as const) {
      for (const [method, verb] of READ_METHODS) app.route({ method: [method], url, exposeHeadRoute: false, ...docs.read[name][verb], handler: retrieve });
    }
  },
};
