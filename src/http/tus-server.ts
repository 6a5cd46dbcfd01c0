// The @tus/server instance behind /api/v1/uploads, loaded with the first resumable-upload request: @tus/server and
// what it brings (about 95 ms of start-up) are not loaded by a server that never sees one.
import { randomBytes } from 'node:crypto';
import { Metadata, Server } from '@tus/server';
import { ImgdError } from '../core/errors.js';
import type { Completion } from '../core/upload/resumable.js';
import type { HttpContext } from './context.js';
import { statusOf } from './error-codes.js';
import { imageUrl } from './image-view.js';
import { toImgdError } from './problem.js';
import { ResumableDataStore, tusRequests, type TusRequestContext } from './tus-store.js';

export interface TusServer {
  /** Runs the protocol for one request, as `context`'s actor; a refusal of imgd's own is left in `context.failure`. */
  handle(context: TusRequestContext, request: Request): Promise<Response>;
  /** Upload-Metadata as its pairs; throws on a malformed header. */
  parseMetadata(header: string): Record<string, string | null>;
}

export interface TusServerOptions {
  readonly path: string;
  readonly uploadId: RegExp;
  readonly urlOf: (id: string) => string;
  readonly completionOf: (metadata: Readonly<Record<string, string | null>>) => Completion;
}

export function createTusServer(ctx: HttpContext, options: TusServerOptions): TusServer {
  const { resumable } = ctx;
  const tus = new Server({
    path: options.path,
    datastore: new ResumableDataStore(resumable),
    maxSize: ctx.config.limits.fileSize,
    // CORS is @fastify/cors's (CORS_ORIGINS): tus's own headers are dropped by the route.
    allowedOrigins: [],
    // The default in-memory locker orders the requests to one upload on this instance (a resumed PATCH asks a stalled
    // one to let go). Across instances the database decides: a part counts only if the offset it started from still
    // holds (ResumableRepo.addPart), so the slower of two writers gets 409 and its bytes are dropped.
    namingFunction: () => randomBytes(16).toString('hex'),
    generateUrl: (_req, { id }) => options.urlOf(id),
    getFileIdFromRequest: (_req, lastPath) => (lastPath && options.uploadId.test(lastPath) ? lastPath : undefined),
    async onUploadFinish(_req, upload) {
      const context = tusRequests.getStore()!;
      const record = await resumable.find(upload.id);
      try {
        if (!record) throw new ImgdError('not_found', 'No such upload.');
        const image = await resumable.complete(upload.id, { actor: context.actor, ip: context.ip }, options.completionOf(record.metadata));
        return { headers: { 'X-Image-Id': image.id, 'X-Image-Url': imageUrl(ctx.publicUrl(), image, ctx.config.imageUrls) } };
      } catch (err) {
        context.failure = toImgdError(err as Error);
        if (context.failure !== err) context.failure.cause = err;
        throw { status_code: statusOf(context.failure.code), body: context.failure.message };
      }
    },
    async onResponseError(_req, err) {
      const context = tusRequests.getStore();
      // The store's and hooks' own refusals; tus's plain { status_code, body } ones are mapped from the answer.
      if (context && !context.failure && err instanceof Error) {
        context.failure = toImgdError(err);
        if (context.failure !== err) context.failure.cause = err;
      }
      return undefined;
    },
  });
  return {
    handle: (context, request) => tusRequests.run(context, () => tus.handleWeb(request)),
    parseMetadata: (header) => Metadata.parse(header) as Record<string, string | null>,
  };
}
