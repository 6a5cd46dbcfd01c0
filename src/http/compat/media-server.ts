// Seed 003 (media_server): public hosting for browser frontends holding short-lived HMAC `ts.sig` upload tokens (COMPAT.md §6).
import { randomBytes } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { checkSeedToken, type SeedTokenVerdict } from '../../auth/hmac-upload-tokens.js';
import { ImgdError, isImgdError } from '../../core/errors.js';
import { ADMIN, describeActor, type Actor } from '../../core/access/actor.js';
import type { ImageRecord } from '../../core/images/image.js';
import { clientFileName } from '../multipart.js';
import { rateLimited } from '../rate-limits.js';
import { sendOriginal } from '../routes/serve.js';
import { missing, sendDetail, sendJson, sendValidation } from './answers.js';
import { seedCors } from './cors.js';
import { readForm } from './form.js';
import { limitInMiB, profileLimit } from './formats.js';
import { READ_METHODS } from './docs.js';
import { mediaServerOperations } from './operations.js';
import type { CompatProfile } from './profile.js';
import { requestBase } from './request-url.js';

const TOKEN_REFUSALS: Record<Exclude<SeedTokenVerdict, 'valid'>, string> = {
  malformed: 'Malformed token.',
  expired: 'Token has expired.',
  future: 'Invalid token.',
  bad_signature: 'Invalid token.',
};

/** The credential: `?token=` (the last one if repeated), or when that parameter is absent `Authorization: Bearer`. */
function tokenOf(request: FastifyRequest): string | undefined {
  const query = request.query as Record<string, unknown>;
  if ('token' in query) {
    const value = query.token;
    return Array.isArray(value) ? String(value[value.length - 1] ?? '') : String(value ?? '');
  }
  const m = /^bearer (.+)$/i.exec(request.headers.authorization ?? '');
  return m ? m[1]!.trim() : undefined;
}

/** Python's Path(name).suffix, lowercased: `''` for no dot, a leading dot only, or a trailing dot. */
export function seedSuffix(filename: string): string {
  const name = filename.split('/').pop() ?? '';
  const dot = name.lastIndexOf('.');
  return dot > 0 && dot < name.length - 1 ? name.slice(dot).toLowerCase() : '';
}

/** `/`, `\`, `.` and `..` are not plain file names. */
const plainName = (name: string): boolean => name !== '' && name !== '.' && name !== '..' && !/[/\\]/.test(name);

export const mediaServer: CompatProfile = {
  name: 'media_server',
  style: 'fastapi',
  routes: [
    { method: 'GET', path: '/' },
    { method: 'POST', path: '/upload' },
    { method: 'GET', path: '/media' },
    { method: 'GET', path: '/media/:filename' },
    { method: 'DELETE', path: '/media/:filename' },
  ],
  async register(app, ctx) {
    const { config } = ctx;
    const secret = config.auth.uploadTokenSecret;
    // planListeners' config check refuses start-up without it; this keeps the type honest.
    if (!secret) throw new Error('media_server needs UPLOAD_TOKEN_SECRET');
    const docs = mediaServerOperations();
    const rules = { secret, expirySeconds: config.auth.uploadTokenExpirySeconds, skewSeconds: config.auth.clockSkewSeconds };
    const extensions = ['.jpg', '.jpeg', '.png', '.gif', '.webp', ...(config.allowedFormats.includes('svg') ? ['.svg'] : []), '.bmp'];
    const base = (request: FastifyRequest): string => requestBase(request, config.http.trustProxy);
    const mediaUrl = (request: FastifyRequest, filename: string): string => `${base(request)}/media/${encodeURIComponent(filename)}`;

    // Multipart bodies reach the handler unread; any other body too (answered as a missing file).
    app.addContentTypeParser('multipart/form-data', (_request, _payload, done) => done(null));
    app.addContentTypeParser('*', (_request, _payload, done) => done(null));
    seedCors(app, config.corsOrigins, ['/', '/upload', '/media', '/media/:filename']);

    /** The seed's token checks in its order: the refusal's message, or the uploader. */
    async function tokenActor(token: string): Promise<Actor | string> {
      const verdict = token === '' ? 'empty' : checkSeedToken(token, rules);
      if (verdict === 'empty') return 'Upload token is required.';
      if (verdict !== 'valid') return TOKEN_REFUSALS[verdict];
      // The same actor the native API makes of these tokens: uploads belong to UPLOAD_TOKEN_OWNER, or nobody.
      const owner = config.auth.uploadTokenOwner ? await ctx.accounts.userByName(config.auth.uploadTokenOwner) : undefined;
      return { kind: 'upload_token', grant: { tokenId: null, ownerId: owner?.id ?? null, key: null, maxBytes: null, singleUse: false } };
    }

    // Beside the web UI on the main listener, `/` is this route only for requests that do not ask for HTML.
    const rootTaken = app.hasRoute({ method: 'GET', url: '/' });
    app.get('/', { ...docs.root, ...(rootTaken && { constraints: { accept: 'json' } }) }, async (_request, reply) => sendJson(reply, 200, { status: 'ok', service: 'Media Server' }));

    app.post('/upload', { ...docs.upload, config: rateLimited(config.rateLimits.upload, config.rateLimits.windowSeconds) }, async (request, reply) => {
      const token = tokenOf(request);
      const actor = token === undefined ? 'missing' : await tokenActor(token);
      if (typeof actor === 'string') {
        // FastAPI validated the whole request (the form read) before its handler looked at the token.
        const form = await readForm(request, 'file', profileLimit(config), async (part) => {
          part.stream.resume();
        });
        const issues = [...(token === undefined ? [missing('query', 'token')] : []), ...(form.sawFile ? [] : [missing('body', 'file')])];
        if (issues.length > 0) return sendValidation(reply, issues);
        return sendDetail(reply, 401, actor);
      }
      let suffix = '';
      const batch = await ctx.uploads.begin({
        actor,
        ip: request.ip,
        defaults: { visibility: 'public' },
        maxBytes: profileLimit(config),
        name: () => `${randomBytes(16).toString('hex')}${suffix}`,
      });
      let refused: ImgdError | undefined;
      try {
        const form = await readForm(request, 'file', profileLimit(config), async (part) => {
          const originalName = clientFileName(part.filename);
          suffix = seedSuffix(part.filename ?? '');
          if (!extensions.includes(suffix)) {
            refused = new ImgdError('unsupported_format', `File type '${suffix}' not allowed. Allowed: ${extensions.join(', ')}`);
            await batch.abort(refused, originalName);
            part.stream.resume();
            return;
          }
          await batch.receive(part.stream, originalName);
        });
        if (refused) return sendDetail(reply, 400, refused.message);
        if (!form.sawFile) {
          await batch.abort(new ImgdError('missing_file', 'No file part.'));
          return sendValidation(reply, [missing('body', 'file')]);
        }
      } catch (err) {
        const error = isImgdError(err) ? err : new ImgdError('malformed_multipart', 'The upload was cut short.');
        await batch.abort(error);
        if (error.code === 'file_too_large') return sendDetail(reply, 400, `File too large. Max size is ${limitInMiB(config)} MB.`);
        throw error;
      }
      const { items, errors } = await batch.finish({});
      const image = items[0];
      if (!image) {
        const error = errors[0]?.error;
        if (error?.code === 'file_too_large') return sendDetail(reply, 400, `File too large. Max size is ${limitInMiB(config)} MB.`);
        return sendDetail(reply, 400, 'Invalid image file.');
      }
      return sendJson(reply, 200, { url: mediaUrl(request, image.filename), filename: image.filename });
    });

    app.get('/media', docs.list, async (request, reply) => {
      const images: Array<{ filename: string; url: string }> = [];
      let cursor: string | undefined;
      do {
        const page = await ctx.catalog.listImages({}, 500, cursor);
        for (const image of page.items) if (image.visibility === 'public') images.push({ filename: image.filename, url: mediaUrl(request, image.filename) });
        cursor = page.nextCursor ?? undefined;
      } while (cursor);
      return sendJson(reply, 200, { count: images.length, images });
    });

    const read = async (request: FastifyRequest<{ Params: { filename: string } }>, reply: FastifyReply): Promise<FastifyReply> => {
      const { filename } = request.params;
      if (!plainName(filename)) return sendDetail(reply, 400, 'Invalid filename.');
      let image: ImageRecord;
      try {
        image = await ctx.images.findServable({ kind: 'anonymous' }, { filename });
      } catch (err) {
        if (isImgdError(err) && err.code === 'not_found') return sendDetail(reply, 404, 'Image not found.');
        throw err;
      }
      // Frontends embed these from their own origin, as /i/ allows.
      reply.header('cross-origin-resource-policy', 'cross-origin');
      return sendOriginal(ctx, request, reply, image);
    };
    for (const [method, verb] of READ_METHODS) app.route({ method: [method], url: '/media/:filename', exposeHeadRoute: false, ...docs.read[verb], handler: read });

    app.delete<{ Params: { filename: string } }>('/media/:filename', docs.remove, async (request, reply) => {
      const token = tokenOf(request);
      if (token === undefined) return sendValidation(reply, [missing('query', 'token')]);
      const actor = await tokenActor(token);
      if (typeof actor === 'string') return sendDetail(reply, 401, actor);
      const { filename } = request.params;
      if (!plainName(filename)) return sendDetail(reply, 400, 'Invalid filename.');
      const image = await ctx.catalog.getImageByFilename(filename);
      // Only what came in with such a token (here or natively) is theirs to delete.
      if (!image || !(await ctx.profileRecords.uploadedBy(image.id, describeActor(actor)))) return sendDetail(reply, 404, 'Image not found.');
      try {
        await ctx.images.remove(ADMIN, image.id);
      } catch (err) {
        if (isImgdError(err) && err.code === 'not_found') return sendDetail(reply, 404, 'Image not found.');
        throw err;
      }
      await ctx.accounts.audit.record(actor, 'image.delete', image.id, request.ip);
      return sendDetail(reply, 200, `Deleted ${filename}`);
    });
  },
};
