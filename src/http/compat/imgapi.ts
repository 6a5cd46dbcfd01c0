// COMPAT profile imgapi (seed 001): anonymous uploads where every attempt is recorded, failures answered 200, with stats.
import type { FastifyReply, FastifyRequest } from 'fastify';
import { mayView } from '../../core/access/policy.js';
import { ImgdError, type ErrorCode } from '../../core/errors.js';
import { ANONYMOUS } from '../../core/access/actor.js';
import type { ImageRecord } from '../../core/images/image.js';
import { originalKey } from '../../core/storage/blob-keys.js';
import type { ProfileAttempt } from '../../db/profile-records.js';
import type { HttpContext } from '../context.js';
import { imageUrl } from '../image-view.js';
import { rateLimited } from '../rate-limits.js';
import { sendDetail, sendJson, sendValidation, missing } from './answers.js';
import { profileLimit, spacedSeconds } from './formats.js';
import { createThumbnails, isThumbnailSize } from './imgapi-thumbnails.js';
import { createExifJsonReader } from './pillow-exif.js';
import { imgapiOperations } from './operations.js';
import type { CompatProfile } from './profile.js';
import { requestBase } from './request-url.js';
import { profileGrant, uploadOne } from './upload-one.js';

const PROFILE = 'imgapi';
const EXTENSIONS = ['.jpg', '.jpeg', '.png'];
const SIGNATURES: Record<string, Buffer> = {
  'image/jpeg': Buffer.from([0xff, 0xd8, 0xff]),
  'image/png': Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
};

/** The core's refusals in the seed's words (COMPAT.md §4); the profile's own checks (validation_failed) record the seed's text as it is. */
const SEED_REASONS: Partial<Record<ErrorCode, string>> = {
  unsupported_format: 'Invalid or corrupted image',
  corrupt_image: 'Invalid or corrupted image',
  svg_entities: 'Invalid or corrupted image',
  svg_too_complex: 'Invalid or corrupted image',
  image_too_large: 'Image too large',
  too_many_frames: 'Image too large',
  file_too_large: 'File too large',
  empty_file: 'Empty upload',
};

const seedReason = (code: string | null, reason: string | null): string =>
  (code !== null ? SEED_REASONS[code as ErrorCode] : undefined) ?? reason ?? 'unknown error';

/** Python's Path(name).suffix: from the last `.` of the last path segment, unless that dot starts or ends it. */
export function pathSuffix(name: string): string {
  const last = name.slice(name.lastIndexOf('/') + 1);
  const dot = last.lastIndexOf('.');
  return dot > 0 && dot < last.length - 1 ? last.slice(dot) : '';
}

/**
 * Python's "%.2f" of a percentage: like toFixed(2) except on an exact tie, which Python rounds to even
 * (12.125 → "12.12") where toFixed rounds up.
 */
export function percent(value: number): string {
  const hundredths = value * 100;
  if (Number.isInteger(hundredths * 2) && !Number.isInteger(hundredths)) {
    const down = Math.floor(hundredths);
    return `${((down % 2 === 0 ? down : down + 1) / 100).toFixed(2)}%`;
  }
  return `${value.toFixed(2)}%`;
}

/** Python's round() to a whole number: halves go to the even neighbour. */
const roundHalfEven = (value: number): number => {
  const floor = Math.floor(value);
  const rest = value - floor;
  if (rest !== 0.5) return Math.round(value);
  return floor % 2 === 0 ? floor : floor + 1;
};

/** The seed's /api/stats from the core's attempt records, all time. */
export function statsView(totals: { total: number; failed: number; averageDurationMs: number | null }) {
  const { total, failed } = totals;
  return {
    total,
    failed,
    success_rate: total === 0 ? '0.00%' : percent(((total - failed) / total) * 100),
    average_processing_time_seconds: totals.averageDurationMs === null ? 0 : roundHalfEven(totals.averageDurationMs / 1000),
  };
}

export const imgapi: CompatProfile = {
  name: 'imgapi',
  style: 'fastapi',
  routes: [
    { method: 'POST', path: '/api/images' },
    { method: 'GET', path: '/api/images' },
    { method: 'GET', path: '/api/images/:id' },
    { method: 'GET', path: '/api/images/:id/thumbnails/:size' },
    { method: 'GET', path: '/api/stats' },
  ],
  async register(app, ctx: HttpContext) {
    const { config } = ctx;
    const docs = imgapiOperations();
    const thumbnails = createThumbnails(ctx.store, config.limits.pixels, ctx.decoding.budget);
    const exifReader = createExifJsonReader(async (sha256, length) => {
      const chunks: Buffer[] = [];
      for await (const chunk of await ctx.store.get(originalKey(sha256), { start: 0, end: length - 1 })) chunks.push(chunk as Buffer);
      return Buffer.concat(chunks);
    });
    /**
     * exif_json: null until EXIF extraction has run, then IFD0 of the stored bytes as Pillow names it. A file in which
     * imgd found no camera facts at all is `{}` without reading it again: a long list does not read every original.
     */
    const exifOf = async (image: ImageRecord): Promise<Record<string, unknown> | null> => {
      if (image.exif === null) return image.status === 'processing' ? null : {};
      return exifReader.read(image.sha256, image.format, image.bytes);
    };
    app.addContentTypeParser('multipart/form-data', (_request, _payload, done) => done(null));
    app.addContentTypeParser('*', (_request, _payload, done) => done(null));

    const thumbnailUrls = (request: FastifyRequest, id: string) => {
      const base = `${requestBase(request, config.http.trustProxy)}/api/images/${id}/thumbnails`;
      return { small: `${base}/small`, medium: `${base}/medium` };
    };

    /**
     * A stored image as the seed answers it: after an upload (metadata without the reads' exif_json and caption), in
     * the list, or as one record (with image_path).
     */
    const imageItem = (
      request: FastifyRequest,
      image: ImageRecord,
      firstUpload: string | undefined,
      shape: 'upload' | 'list' | 'record',
      exif: Record<string, unknown> | null = null,
    ) => {
      const thumbs = thumbnailUrls(request, image.id);
      const metadata = {
        width: image.width,
        height: image.height,
        format: image.format,
        size_bytes: image.bytes,
        sha256: image.sha256,
        first_upload: spacedSeconds(firstUpload ?? image.createdAt),
      };
      return {
        status: 'success',
        data: {
          image_id: image.id,
          original_name: image.originalName || 'upload',
          processed_at: spacedSeconds(image.createdAt),
          ...(shape === 'record' && { image_path: imageUrl(ctx.publicUrl(), image, ctx.config.imageUrls) }),
          metadata: shape === 'upload' ? metadata : { ...metadata, exif_json: exif, caption: image.caption },
          thumbnails: thumbs,
        },
        thumbnails: thumbs,
        error: null,
      };
    };

    const failedItem = (attempt: ProfileAttempt, withPath: boolean) => ({
      status: 'failed',
      data: {
        image_id: attempt.id,
        original_name: attempt.originalName || 'upload',
        processed_at: spacedSeconds(attempt.createdAt),
        ...(withPath && { image_path: null }),
        metadata: {},
        thumbnails: {},
      },
      error: seedReason(attempt.code, attempt.reason),
    });

    /** A public image by id, as anyone may see it; undefined for anything else. */
    const publicImage = async (id: string): Promise<ImageRecord | undefined> => {
      const image = await ctx.catalog.getImage(id);
      return image && mayView(ANONYMOUS, image) ? image : undefined;
    };

    app.post('/api/images', { ...docs.upload, config: rateLimited(config.rateLimits.upload, config.rateLimits.windowSeconds) }, async (request, reply) => {
      const attempts: string[] = [];
      const outcome = await uploadOne(
        ctx.uploads,
        request,
        {
          actor: profileGrant(PROFILE),
          ip: request.ip,
          defaults: { visibility: 'public' },
          maxBytes: profileLimit(config),
          onAttempt: (attempt) => attempts.push(attempt.id),
        },
        {
          part(file) {
            const extension = pathSuffix(file.filename ?? '').toLowerCase();
            if (!EXTENSIONS.includes(extension)) return new ImgdError('validation_failed', `Bad Extension ${extension || 'none'}`);
            const declared = file.mimeType ?? '';
            if (!(declared in SIGNATURES)) return new ImgdError('validation_failed', `Bad MIME type: ${declared || '(none)'}`);
            return undefined;
          },
          headBytes: 8,
          head(head, file) {
            if (head.length === 0) return new ImgdError('empty_file', 'Empty upload');
            const signature = SIGNATURES[file.mimeType ?? '']!;
            return head.subarray(0, signature.length).equals(signature) ? undefined : new ImgdError('validation_failed', 'File bytes do not match image type');
          },
        },
      );
      if (outcome.kind === 'no_file') return sendValidation(reply, [missing('body', 'file')]);
      if (outcome.kind === 'refused') {
        await ctx.profileRecords.markAttempts(PROFILE, attempts);
        const recorded = await ctx.profileRecords.attempt(PROFILE, attempts.at(-1) ?? '');
        return sendJson(reply, 200, {
          status: 'failed',
          data: {
            image_id: recorded?.id ?? '',
            original_name: outcome.file.filename || 'upload',
            processed_at: spacedSeconds(recorded?.createdAt ?? new Date()),
            metadata: {},
            thumbnails: {},
          },
          error: seedReason(outcome.error.code, outcome.error.message),
        });
      }
      const { image } = outcome;
      const first = (await ctx.profileRecords.firstStored([image.sha256])).get(image.sha256);
      return sendJson(reply, 200, imageItem(request, image, first, 'upload'));
    });

    app.get('/api/images', docs.list, async (request, reply) => {
      const images: ImageRecord[] = [];
      let cursor: string | undefined;
      do {
        const page = await ctx.catalog.listImages({}, 500, cursor);
        images.push(...page.items.filter((image) => mayView(ANONYMOUS, image)));
        cursor = page.nextCursor ?? undefined;
      } while (cursor !== undefined);
      const [failures, firsts] = await Promise.all([ctx.profileRecords.failedAttempts(PROFILE), ctx.profileRecords.firstStored(images.map((i) => i.sha256))]);
      // A few originals' heads at a time (the first list after a start reads those of every photo once).
      const exifs = new Map<string, Record<string, unknown> | null>();
      for (let at = 0; at < images.length; at += 8) {
        const batch = images.slice(at, at + 8);
        const found = await Promise.all(batch.map(exifOf));
        batch.forEach((image, i) => exifs.set(image.id, found[i] ?? null));
      }
      const items = [
        ...images.map((image) => ({ at: image.createdAt, item: imageItem(request, image, firsts.get(image.sha256), 'list', exifs.get(image.id)) })),
        ...failures.map((attempt) => ({ at: attempt.createdAt, item: failedItem(attempt, false) })),
      ];
      // Newest first; both lists come sorted, and a stable sort keeps their own order on equal times.
      items.sort((a, b) => (a.at < b.at ? 1 : a.at > b.at ? -1 : 0));
      return sendJson(reply, 200, items.map((entry) => entry.item));
    });

    app.get<{ Params: { id: string } }>('/api/images/:id', docs.get, async (request, reply) => {
      const id = request.params.id;
      const image = await publicImage(id);
      if (image) {
        const first = (await ctx.profileRecords.firstStored([image.sha256])).get(image.sha256);
        return sendJson(reply, 200, imageItem(request, image, first, 'record', await exifOf(image)));
      }
      const attempt = await ctx.profileRecords.attempt(PROFILE, id);
      if (attempt && attempt.outcome === 'failed') return sendJson(reply, 200, failedItem(attempt, true));
      return sendDetail(reply, 404, 'Image not found');
    });

    app.get<{ Params: { id: string; size: string } }>('/api/images/:id/thumbnails/:size', docs.thumbnail, async (request, reply: FastifyReply) => {
      const { id, size } = request.params;
      if (!isThumbnailSize(size)) return sendDetail(reply, 400, 'Invalid thumbnail size');
      const image = await publicImage(id);
      if (!image) {
        const attempt = await ctx.profileRecords.attempt(PROFILE, id);
        return sendDetail(reply, 404, attempt ? 'No thumbnail for failed upload' : 'Image not found');
      }
      const bytes = await thumbnails.get(image, size);
      if (!bytes) return sendDetail(reply, 404, 'Thumbnail not generated yet');
      return reply
        .code(200)
        .type('image/jpeg')
        .header('cache-control', 'public, max-age=31536000, immutable')
        .header('content-disposition', `attachment; filename="${image.sha256}_${size}.jpeg"`)
        .send(bytes);
    });

    app.get('/api/stats', docs.stats, async (_request, reply) => {
      // The totals are all time (only the per-day part takes the window).
      const stats = await ctx.catalog.uploadStats(1);
      // The seed's failures are refusals: an upload accepted, then failed in processing, counts as a success (§4).
      return sendJson(reply, 200, statsView({ total: stats.total, failed: stats.refused, averageDurationMs: stats.averageAcceptedDurationMs }));
    });
  },
};
