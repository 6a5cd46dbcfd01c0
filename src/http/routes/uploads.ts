// Resumable uploads: the tus 1.0.0 protocol at /api/v1/uploads (@tus/server), behind imgd's credentials, limits and
// errors; a finished upload becomes an image through the same use case as a POST.
import { Readable } from 'node:stream';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { canUpload, principalOf, requireAuthenticated, uploadTerms } from '../../core/access/policy.js';
import { ImgdError, type ErrorCode } from '../../core/errors.js';
import { parseUploadFields, UPLOAD_FIELD_NAMES } from '../../core/upload/fields.js';
import type { StoredAnswer } from '../../core/upload/idempotency.js';
import type { Completion, ResumableRecord } from '../../core/upload/resumable.js';
import type { HttpContext } from '../context.js';
import { fingerprintOf, idempotencyKeyOf, replay } from '../idempotency.js';
import { imageUrl } from '../image-view.js';
import { statusOf } from '../error-codes.js';
import { clientFileName } from '../multipart.js';
import { sendProblem } from '../problem.js';
import { tusSchemas } from './upload-schemas.js';
import { rateLimited } from '../rate-limits.js';
import type { TusRequestContext } from '../tus-store.js';
import type { TusServer } from '../tus-server.js';

export const UPLOADS_PATH = '/api/v1/uploads';
/** What an Idempotency-Key's fingerprint names as the request's target. */
const CREATE_ROUTE = 'POST /api/v1/uploads';
/** The headers of a creation's answer that a replay sends again. */
const KEPT_HEADERS = ['location', 'tus-resumable', 'upload-offset', 'upload-expires', 'x-image-id', 'x-image-url'];
const UPLOAD_ID = /^[0-9a-f]{32}$/;
const TUS_VERSION = '1.0.0';

/** tus answers its own refusals with a status and a line of text: the same statuses, in imgd's vocabulary. */
const TUS_CODES: Record<number, ErrorCode> = {
  400: 'bad_request',
  // tus-node-server says 403 for a missing Upload-Offset or Content-Type: a malformed request, not a missing right.
  403: 'bad_request',
  404: 'not_found',
  409: 'offset_mismatch',
  410: 'upload_expired',
  412: 'precondition_failed',
  413: 'file_too_large',
  460: 'checksum_mismatch',
  501: 'bad_request',
};

/** The upload's metadata as the image's name and fields: `filename` (or Uppy's `name`), `description`, `key`, `visibility`. */
export function completionOf(metadata: Readonly<Record<string, string | null>>): Completion {
  const fields: Record<string, string> = {};
  for (const name of UPLOAD_FIELD_NAMES) {
    const value = metadata[name];
    if (typeof value === 'string') fields[name] = value;
  }
  return { originalName: clientFileName(metadata.filename ?? metadata.name ?? undefined), fields };
}

/** Upload-Checksum: `sha256 <base64 digest>`; other algorithms are refused (400), as the checksum extension says. */
function parseChecksum(header: string | undefined): Buffer | undefined {
  if (header === undefined) return undefined;
  const m = /^\s*(\S+)\s+([A-Za-z0-9+/=]+)\s*$/.exec(header);
  if (!m) throw new ImgdError('bad_request', 'Upload-Checksum must be "sha256 <base64 digest>".');
  if (m[1]!.toLowerCase() !== 'sha256') throw new ImgdError('bad_request', `Checksum algorithm ${JSON.stringify(m[1])} is not supported; use sha256.`, { supported: ['sha256'] });
  const digest = Buffer.from(m[2]!, 'base64');
  if (digest.length !== 32) throw new ImgdError('bad_request', 'Upload-Checksum does not hold a SHA-256 digest (32 bytes, base64).');
  return digest;
}

/** The Fastify request as the Fetch API request @tus/server handles; the body stays a stream. */
function webRequest(request: FastifyRequest): Request {
  const headers = new Headers();
  for (const [name, value] of Object.entries(request.headers)) {
    if (value === undefined) continue;
    for (const item of Array.isArray(value) ? value : [value]) headers.append(name, item);
  }
  const hasBody = request.method === 'POST' || request.method === 'PATCH';
  const init: RequestInit & { duplex: 'half' } = {
    method: request.method,
    headers,
    body: hasBody ? (Readable.toWeb(request.raw) as ReadableStream<Uint8Array>) : null,
    duplex: 'half',
  };
  // The path alone: a ?token= credential stays out of what the protocol handlers see.
  return new Request(`http://imgd${request.url.split('?')[0]}`, init);
}

function tusRefusal(status: number, text: string): ImgdError {
  const code = TUS_CODES[status];
  const detail = text.trim() || `The tus request was refused (${status}).`;
  if (!code) return new ImgdError('internal', 'Something went wrong on our side; the request id identifies it in the logs.');
  if (code === 'precondition_failed') return new ImgdError(code, `This server speaks tus ${TUS_VERSION}: send Tus-Resumable: ${TUS_VERSION}.`);
  return new ImgdError(code, detail);
}

export function uploadRoutes(ctx: HttpContext): FastifyPluginAsyncTypebox {
  const { config, resumable } = ctx;
  const urlOf = (id: string): string => `${ctx.publicUrl()}${UPLOADS_PATH}/${id}`;

  let loaded: Promise<TusServer> | undefined;
  /** The protocol's server, made with the first request that needs it (tus-server.ts). */
  const tus = (): Promise<TusServer> =>
    (loaded ??= import('../tus-server.js').then((m) => m.createTusServer(ctx, { path: UPLOADS_PATH, uploadId: UPLOAD_ID, urlOf, completionOf })));

  /** Refusals imgd decides before the protocol runs: credentials, ownership, sizes, fields. */
  async function precheck(request: FastifyRequest): Promise<ResumableRecord | undefined> {
    if (request.method === 'OPTIONS') return undefined;
    requireAuthenticated(request.actor);
    if (request.method === 'POST') {
      canUpload(request.actor);
      if (request.headers['upload-defer-length'] !== undefined || request.headers['upload-concat'] !== undefined) {
        throw new ImgdError('bad_request', 'Send Upload-Length when creating an upload; deferred lengths and concatenation are not supported.');
      }
      const length = Number(request.headers['upload-length']);
      const grant = request.actor.kind === 'upload_token' ? request.actor.grant.maxBytes : null;
      const limit = Math.min(config.limits.fileSize, grant ?? Infinity);
      if (Number.isSafeInteger(length) && length > limit) {
        throw new ImgdError('file_too_large', `The file is larger than the limit of ${limit} bytes.`, { limit });
      }
      const header = request.headers['upload-metadata'];
      if (typeof header === 'string') {
        const server = await tus();
        let metadata;
        try {
          metadata = server.parseMetadata(header);
        } catch {
          throw new ImgdError('bad_request', 'Upload-Metadata must be comma-separated "key base64value" pairs.');
        }
        // Fields and an upload token's key are checked now, not after the last byte.
        uploadTerms(request.actor, parseUploadFields(completionOf(metadata).fields, { visibility: 'public' }));
      }
      return undefined;
    }
    const id = (request.params as { id?: string }).id ?? '';
    const record = UPLOAD_ID.test(id) ? await resumable.find(id) : undefined;
    // Someone else's upload is as absent as a missing one.
    if (!record || record.creator !== principalOf(request.actor)) throw new ImgdError('not_found', 'No such upload.');
    return record;
  }

  /**
   * Runs the protocol for the request: the answer's code and headers are set on the reply, and its body, or the
   * refusal, returned for the caller to send (after an Idempotency-Key has recorded it).
   */
  async function protocol(request: FastifyRequest, reply: FastifyReply, record: ResumableRecord | undefined): Promise<{ body?: Buffer; failure?: ImgdError }> {
    const context: TusRequestContext = {
      actor: request.actor,
      principal: principalOf(request.actor),
      ip: request.ip,
      checksum: parseChecksum(request.headers['upload-checksum'] as string | undefined),
    };
    const response = await (await tus()).handle(context, webRequest(request));
    response.headers.forEach((value, name) => {
      if (!name.startsWith('access-control-')) reply.header(name, value);
    });
    if (context.failure || response.status >= 400) {
      const failure = context.failure ?? tusRefusal(response.status, await response.text());
      reply.removeHeader('content-length');
      reply.removeHeader('content-type');
      reply.header('tus-resumable', TUS_VERSION);
      if (failure.code === 'precondition_failed') reply.header('tus-version', TUS_VERSION);
      if (statusOf(failure.code) >= 500 && failure.code !== 'unavailable') request.log.error({ err: failure.cause ?? failure }, 'resumable upload failed');
      return { failure };
    }
    if (request.method === 'OPTIONS') reply.header('tus-checksum-algorithm', 'sha256');
    // A finished upload says what it became, so a client whose last answer was lost learns it from HEAD.
    if (request.method === 'HEAD' && record?.imageId) {
      const image = await ctx.catalog.getImage(record.imageId);
      if (image) reply.header('x-image-id', image.id).header('x-image-url', imageUrl(ctx.publicUrl(), image, ctx.config.imageUrls));
    } else if (request.method === 'HEAD' && record) {
      reply.header('upload-expires', new Date(record.expiresAt).toUTCString());
    }
    reply.code(response.status);
    const body = response.body ? Buffer.from(await response.arrayBuffer()) : undefined;
    return { body: body && body.length > 0 ? body : undefined };
  }

  /** A creation's stored answer, with the upload's offset as it is now (the retry continues from there). */
  async function current(answer: StoredAnswer): Promise<StoredAnswer> {
    const id = answer.headers.location?.split('/').pop() ?? '';
    const record = UPLOAD_ID.test(id) ? await resumable.find(id) : undefined;
    if (!record || answer.headers['upload-offset'] === undefined) return answer;
    return { ...answer, headers: { ...answer.headers, 'upload-offset': String(record.received) } };
  }

  async function handle(request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
    const record = await precheck(request);
    const key = request.method === 'POST' ? idempotencyKeyOf(request) : undefined;
    if (key === undefined) {
      const { body, failure } = await protocol(request, reply, record);
      return failure ? sendProblem(request, reply, failure) : reply.send(body);
    }
    // The creation's headers are the request; a body sent along is bytes of the upload, which a retry resends anyway.
    const fingerprint = fingerprintOf(CREATE_ROUTE, [request.headers['upload-length'] ?? '', request.headers['upload-metadata'] ?? '']);
    const held = await ctx.idempotency.open(principalOf(request.actor), key);
    if (held.state === 'done') return replay(reply, await current(held.replay(fingerprint)));
    let outcome;
    try {
      outcome = await protocol(request, reply, record);
    } catch (err) {
      await held.abandon();
      throw err;
    }
    if (outcome.failure) {
      await held.abandon();
      return sendProblem(request, reply, outcome.failure);
    }
    const headers: Record<string, string> = {};
    for (const name of KEPT_HEADERS) {
      const value = reply.getHeader(name);
      if (value !== undefined) headers[name] = String(value);
    }
    await held.finish(fingerprint, { status: reply.statusCode, headers, body: '' });
    return reply.send(outcome.body);
  }

  // Fastify types a handler by the response schemas (all Null here); the reply is what it answers.
  const route = (request: FastifyRequest, reply: FastifyReply): Promise<void> => handle(request, reply) as unknown as Promise<void>;

  const hidden = () => () => true;

  const schemas = tusSchemas();

  return async (app) => {
    // The protocol reads bodies itself, as streams.
    app.addContentTypeParser('application/offset+octet-stream', (_request, _payload, done) => done(null));
    app.addContentTypeParser('*', (_request, _payload, done) => done(null));

    app.options(
      UPLOADS_PATH,
      {
        schema: schemas.capabilities,
      },
      route,
    );

    app.post(
      UPLOADS_PATH,
      {
        config: rateLimited(config.rateLimits.upload, config.rateLimits.windowSeconds),
        validatorCompiler: hidden,
        schema: schemas.create,
      },
      route,
    );

    app.route({
      method: ['HEAD'],
      url: `${UPLOADS_PATH}/:id`,
      schema: schemas.status,
      handler: route,
    });
    app.route({
      method: ['PATCH'],
      url: `${UPLOADS_PATH}/:id`,
      validatorCompiler: hidden,
      schema: schemas.append,
      handler: route,
    });
    app.route({
      method: ['DELETE'],
      url: `${UPLOADS_PATH}/:id`,
      schema: schemas.terminate,
      handler: route,
    });
    app.route({ method: ['OPTIONS'], url: `${UPLOADS_PATH}/:id`, schema: schemas.hidden, handler: route });
  };
}
