// Every error as application/problem+json with a stable code; the one place statuses are shaped.
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ImgdError, type ErrorCode } from '../core/errors.js';
import { statusOf, titleOf } from './error-codes.js';
import { noSpaceLeft } from '../core/storage/disk-space.js';
import { isDiskFull, isOutage } from '../core/outages.js';

/** Seconds a client is asked to wait before trying again after a 503, unless the error names its own. */
export const RETRY_AFTER_SECONDS = 5;

export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: string;
  instance: string;
  request_id: string;
  [extra: string]: unknown;
}

/** The one shape of every error body; `instance` is the path ('' when the request could not be read). */
export function problemOf(code: string, status: number, detail: string, instance: string, requestId: string, extra: Record<string, unknown> = {}): Problem {
  return { type: `urn:imgd:problem:${code}`, title: titleOf(code), status, detail, code, instance, request_id: requestId, ...extra };
}

export function problemBody(request: FastifyRequest, code: string, status: number, detail: string, extra: Record<string, unknown> = {}): Problem {
  return problemOf(code, status, detail, request.url.split('?')[0] ?? request.url, request.id, extra);
}

export function sendProblem(request: FastifyRequest, reply: FastifyReply, err: ImgdError): FastifyReply {
  if (err.code === 'unauthorized') reply.header('www-authenticate', 'Bearer');
  let extra = err.extra;
  const status = statusOf(err.code);
  // Every 503 and 507 is temporary by definition: say when to come back.
  if (status === 503 || status === 507) {
    const seconds = typeof extra.retry_after === 'number' ? extra.retry_after : RETRY_AFTER_SECONDS;
    reply.header('retry-after', String(seconds));
    extra = { ...extra, retry_after: seconds };
  }
  return reply.code(status).type('application/problem+json').send(problemBody(request, err.code, status, err.message, extra));
}

/** Fastify's own errors, by code, in our vocabulary. */
const FASTIFY_CODES: Record<string, ErrorCode> = {
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'unsupported_media_type',
  FST_ERR_CTP_BODY_TOO_LARGE: 'body_too_large',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'bad_request',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'bad_request',
  FST_ERR_CTP_INVALID_JSON_BODY: 'bad_request',
  FST_ERR_VALIDATION: 'validation_failed',
};

export function toImgdError(err: FastifyError | Error): ImgdError {
  if (err instanceof ImgdError) return err;
  const fe = err as FastifyError;
  if (fe.validation) {
    return new ImgdError('validation_failed', err.message, {
      errors: fe.validation.map((v) => ({ path: v.instancePath || v.params?.missingProperty || '', message: v.message })),
    });
  }
  const mapped = fe.code ? FASTIFY_CODES[fe.code] : undefined;
  if (mapped) return new ImgdError(mapped, err.message);
  if (fe.statusCode && fe.statusCode >= 400 && fe.statusCode < 500) return new ImgdError('bad_request', err.message);
  // A full disk and a database, Redis or store connection that failed are the service's state, not a bug: 507 and 503, never 500.
  if (isDiskFull(err)) return noSpaceLeft(err);
  if (isOutage(err)) return new ImgdError('unavailable', 'A service this server depends on cannot be reached right now; try again shortly.');
  return new ImgdError('internal', 'Something went wrong on our side; the request id identifies it in the logs.');
}

/** `notFound` answers unknown paths outside /api/v1 (COMPAT profiles on the main listener, in their seed's style). */
export function registerProblemHandlers(app: FastifyInstance, notFound?: (request: FastifyRequest, reply: FastifyReply) => unknown): void {
  app.setErrorHandler((err: FastifyError, request, reply) => {
    const problem = toImgdError(err);
    if (problem.code === 'insufficient_storage') request.log.warn({ err: err.message, cause: (err.cause as Error | undefined)?.message }, 'request failed: no space left to write');
    else if (problem.code === 'unavailable') request.log.warn({ err: err.message, cause: (err.cause as Error | undefined)?.message }, 'request failed: a dependency is unavailable');
    else if (statusOf(problem.code) >= 500) request.log.error({ err }, 'request failed');
    else request.log.info({ code: problem.code }, problem.message);
    return sendProblem(request, reply, problem);
  });
  app.setNotFoundHandler((request, reply) => {
    if (notFound && !/^\/api\/v1(\/|$)/.test(request.url)) return notFound(request, reply);
    return sendProblem(request, reply, new ImgdError('not_found', `No route ${request.method} ${request.url.split('?')[0]}.`));
  });
}

