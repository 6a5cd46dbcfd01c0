// COMPAT profile s3_upload (seed 004): uploads keyed by an external id, an upload page per id, latest and history, Flask-style.
import { randomBytes } from 'node:crypto';
import type { FastifyReply } from 'fastify';
import { mayView } from '../../core/access/policy.js';
import { ImgdError } from '../../core/errors.js';
import { statusOf } from '../error-codes.js';
import { ANONYMOUS } from '../../core/access/actor.js';
import type { ImageRecord } from '../../core/images/image.js';
import type { HttpContext } from '../context.js';
import { imageUrl } from '../image-view.js';
import { rateLimited } from '../rate-limits.js';
import { sendError, sendJson } from './answers.js';
import { isoMicros, limitInMiB, profileLimit } from './formats.js';
import { s3UploadOperations } from './operations.js';
import type { CompatProfile } from './profile.js';
import { secureFilename } from './python-names.js';
import { pagePolicy, uploadPage } from './s3-upload-page.js';
import { profileGrant, uploadOne } from './upload-one.js';

const PROFILE = 's3_upload';
const EXTENSIONS = ['png', 'jpg', 'jpeg', 'gif', 'webp', 'bmp', 'tiff'];
const INVALID_TYPE = `Invalid file type. Allowed types: ${EXTENSIONS.join(', ')}`;

/** One or more of A-Z a-z 0-9 _ -, at least one of them a letter or a digit. */
export const isImageId = (id: string): boolean => /^[A-Za-z0-9_-]+$/.test(id) && /[A-Za-z0-9]/.test(id);

/** Flask's allowed_file(): a `.` in the name and an allowed extension after the last one. */
const allowedName = (name: string): boolean => name.includes('.') && EXTENSIONS.includes(name.slice(name.lastIndexOf('.') + 1).toLowerCase());

export const s3Upload: CompatProfile = {
  name: 's3_upload',
  style: 'flask',
  routes: [
    { method: 'GET', path: '/health' },
    { method: 'GET', path: '/:image_id' },
    { method: 'POST', path: '/upload/:image_id' },
    { method: 'GET', path: '/api/url/:image_id' },
    { method: 'GET', path: '/api/images/:image_id' },
  ],
  async register(app, ctx: HttpContext) {
    const docs = s3UploadOperations();
    const { config } = ctx;
    app.addContentTypeParser('multipart/form-data', (_request, _payload, done) => done(null));
    app.addContentTypeParser('*', (_request, _payload, done) => done(null));

    const record = (image: ImageRecord, id: string) => ({
      image_id: id,
      s3_url: imageUrl(ctx.publicUrl(), image, config.imageUrls),
      original_filename: secureFilename(image.originalName ?? ''),
      file_size: image.bytes,
      content_type: image.contentType,
      uploaded_at: isoMicros(image.createdAt),
    });

    /** Every public upload under the id, newest first; equal times in the order they were accepted. */
    const history = async (id: string): Promise<ImageRecord[]> => {
      const found: ImageRecord[] = [];
      let cursor: string | undefined;
      do {
        const page = await ctx.catalog.listImages({ key: id }, 500, cursor);
        found.push(...page.items.filter((image) => image.key === id && mayView(ANONYMOUS, image)));
        cursor = page.nextCursor ?? undefined;
      } while (cursor !== undefined);
      const numbers = await ctx.profileRecords.imageNumbers(found.map((image) => image.id));
      const order = (image: ImageRecord): number => numbers.get(image.id) ?? 0;
      return found.sort((a, b) => (a.createdAt < b.createdAt ? 1 : a.createdAt > b.createdAt ? -1 : order(b) - order(a)));
    };

    const badId = (reply: FastifyReply): FastifyReply => sendError(reply, 400, 'Invalid image ID format');

    app.get('/health', docs.health, async (_request, reply) => {
      const timestamp = isoMicros(new Date());
      try {
        await Promise.all([ctx.catalog.check(), ctx.store.check()]);
      } catch (err) {
        return sendJson(reply, 503, { status: 'unhealthy', error: (err as Error).message, timestamp });
      }
      return sendJson(reply, 200, { status: 'healthy', timestamp, environment: config.compat.environment, storage: config.storage.kind });
    });

    app.get<{ Params: { image_id: string } }>('/:image_id', docs.page, async (request, reply) => {
      const id = request.params.image_id;
      if (!isImageId(id)) return badId(reply);
      const nonce = randomBytes(16).toString('base64');
      return reply.code(200).type('text/html; charset=utf-8').header('content-security-policy', pagePolicy(nonce)).send(uploadPage(id, nonce));
    });

    app.post<{ Params: { image_id: string } }>(
      '/upload/:image_id',
      { ...docs.upload, config: rateLimited(config.rateLimits.upload, config.rateLimits.windowSeconds) },
      async (request, reply) => {
        const id = request.params.image_id;
        // The body stays unread: answered before it ended, the connection closes (unread-body.ts).
        if (!isImageId(id)) return badId(reply);
        const outcome = await uploadOne(
          ctx.uploads,
          request,
          { actor: profileGrant(PROFILE, id), ip: request.ip, defaults: { visibility: 'public' }, maxBytes: profileLimit(config) },
          {
            recordMissing: true,
            part(file) {
              if (file.filename === '') return new ImgdError('missing_file', 'No file selected');
              if (!allowedName(file.filename ?? '')) return new ImgdError('unsupported_format', INVALID_TYPE);
              return undefined;
            },
          },
        );
        if (outcome.kind === 'no_file') return sendError(reply, 400, 'No file provided');
        if (outcome.kind === 'refused') {
          const { error } = outcome;
          if (error.code === 'missing_file') return sendError(reply, 400, 'No file selected');
          if (error.code === 'file_too_large') return sendError(reply, 413, `File too large. Maximum size: ${limitInMiB(config)}MB`);
          if (statusOf(error.code) >= 500) return sendError(reply, 500, 'Internal server error during upload');
          return sendError(reply, 400, INVALID_TYPE);
        }
        const url = imageUrl(ctx.publicUrl(), outcome.image, config.imageUrls);
        request.log.info({ image_id: id, image: outcome.image.id }, `Upload completed successfully for ID: ${id}`);
        return sendJson(reply, 201, {
          success: true,
          message: 'Image uploaded successfully',
          image_id: id,
          s3_url: url,
          image_url: url,
          uploaded_at: isoMicros(outcome.image.createdAt),
        });
      },
    );

    app.get<{ Params: { image_id: string } }>('/api/url/:image_id', docs.url, async (request, reply) => {
      const id = request.params.image_id;
      if (!isImageId(id)) return badId(reply);
      const [latest] = await history(id);
      if (!latest) return sendError(reply, 404, 'Image not found', { image_id: id });
      return sendJson(reply, 200, { success: true, ...record(latest, id) });
    });

    app.get<{ Params: { image_id: string } }>('/api/images/:image_id', docs.list, async (request, reply) => {
      const id = request.params.image_id;
      if (!isImageId(id)) return badId(reply);
      const images = await history(id);
      if (images.length === 0) return sendError(reply, 404, 'No images found', { image_id: id });
      return sendJson(reply, 200, { success: true, count: images.length, images: images.map((image) => record(image, id)) });
    });
  },
};
