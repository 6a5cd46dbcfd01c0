// The seeds' answer shapes (COMPAT.md §2.3): FastAPI `{"detail": ...}` and Flask `{"error": ...}`, always application/json.
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { ImgdError } from '../../core/errors.js';
import { statusOf } from '../error-codes.js';
import { DISK_RETRY_AFTER_SECONDS } from '../../core/storage/disk-space.js';
import { isDiskFull, isOutage } from '../../core/outages.js';
import type { EarlyErrorWriter } from '../early-errors.js';
import { RETRY_AFTER_SECONDS } from '../problem.js';
import type { CompatProfile, ProfileRoute } from './profile.js';

export type Style = CompatProfile['style'];

/** A JSON answer as the seeds sent it: `application/json`, never problem+json, no charset parameter. */
export function sendJson(reply: FastifyReply, status: number, body: unknown): FastifyReply {
  // As bytes: Fastify would append `; charset=utf-8` to a JSON type sent as a string or object.
  return reply.code(status).header('content-type', 'application/json').send(Buffer.from(JSON.stringify(body)));
}

/** FastAPI's `{"detail": "<message>"}`. */
export const sendDetail = (reply: FastifyReply, status: number, message: string): FastifyReply => sendJson(reply, status, { detail: message });

/** Flask's `{"error": "<message>", ...more}`. */
export const sendError = (reply: FastifyReply, status: number, message: string, more: Record<string, unknown> = {}): FastifyReply =>
  sendJson(reply, status, { error: message, ...more });

/** The style's body for a message, as text: `{"detail": ...}` or `{"error": ...}`. */
const styledBody = (style: Style, message: string): string => JSON.stringify(style === 'flask' ? { error: message } : { detail: message });

/**
 * A profile listener's errors made before any route ran (431, 414, bad framing, 408): imgd's status and message in
 * the seed's style, application/json like every profile answer.
 */
export const earlyErrorWriter =
  (style: Style): EarlyErrorWriter =>
  (error) => ({ type: 'application/json', body: styledBody(style, error.message) });

/** The message in the style's key. */
export const sendStyled = (reply: FastifyReply, style: Style, status: number, message: string): FastifyReply =>
  style === 'flask' ? sendError(reply, status, message) : sendDetail(reply, status, message);

/** One entry of FastAPI's 422 array. */
export interface ValidationIssue {
  readonly type: string;
  readonly loc: readonly [string, ...(string | number)[]];
  readonly msg: string;
  readonly input: unknown;
}

/** FastAPI's entry for a part, field or parameter that is absent: `loc` is `["body", "file"]`, `["query", "token"]`... */
export const missing = (where: 'body' | 'query' | 'path' | 'header', name: string): ValidationIssue => ({
  type: 'missing',
  loc: [where, name],
  msg: 'Field required',
  input: null,
});

/** pydantic's issue for a field that is there but not a string. */
const notString = (field: string, input: unknown): ValidationIssue => ({ type: 'string_type', loc: ['body', field], msg: 'Input should be a valid string', input });

/** The string fields of a body, or the 422 issues that refuse it. */
export function stringFields(body: unknown, names: readonly string[], optional: readonly string[] = []): { values: Record<string, string>; issues: ValidationIssue[] } {
  const source = body !== null && typeof body === 'object' && !Array.isArray(body) ? (body as Record<string, unknown>) : {};
  const values: Record<string, string> = {};
  const issues: ValidationIssue[] = [];
  for (const name of [...names, ...optional]) {
    const value = source[name];
    if (value === undefined || value === null) {
      if (names.includes(name)) issues.push(missing('body', name));
    } else if (typeof value !== 'string') issues.push(notString(name, value));
    else values[name] = value;
  }
  return { values, issues };
}

/** 422 `{"detail": [issues]}`, one entry per problem. */
export const sendValidation = (reply: FastifyReply, issues: readonly ValidationIssue[]): FastifyReply => sendJson(reply, 422, { detail: issues });

const WORDS = {
  fastapi: { notFound: 'Not Found', notAllowed: 'Method Not Allowed', fault: 'Internal Server Error', tooMany: 'Too many requests', away: 'Service Unavailable', full: 'Insufficient Storage' },
  flask: { notFound: 'Resource not found', notAllowed: 'Method not allowed', fault: 'Internal server error', tooMany: 'Too many requests', away: 'Service unavailable', full: 'Insufficient storage' },
} as const;

/** A profile route's path as a pattern over concrete paths (`:param` is one segment, `*` the rest). */
function routePattern(path: string): RegExp {
  const body = path
    .split('/')
    .map((segment) => (segment.startsWith(':') ? '[^/]+' : segment === '*' ? '.*' : segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
    .join('/');
  return new RegExp(`^${body}$`);
}

/**
 * The answer for a request no route took: 405 with `Allow` when its path is a route of these profiles under
 * another method, else the style's 404.
 */
export function notFoundHandler(style: Style, routes: readonly ProfileRoute[]): (request: FastifyRequest, reply: FastifyReply) => FastifyReply {
  const patterns = routes.map((route) => ({ method: route.method, pattern: routePattern(route.path) }));
  return (request, reply) => {
    const path = request.url.split('?')[0] ?? request.url;
    const allowed = new Set(patterns.filter((p) => p.pattern.test(path)).map((p) => p.method));
    if (allowed.has('GET')) allowed.add('HEAD');
    if (allowed.size > 0 && !allowed.has(request.method as ProfileRoute['method'])) {
      reply.header('allow', [...allowed].join(', '));
      return sendStyled(reply, style, 405, WORDS[style].notAllowed);
    }
    return sendStyled(reply, style, 404, WORDS[style].notFound);
  };
}

/** Errors a profile route did not answer itself: rate limits, bad bodies, faults; never a stack trace. */
export function errorHandler(style: Style): (err: FastifyError, request: FastifyRequest, reply: FastifyReply) => FastifyReply {
  return (err, request, reply) => {
    if (err instanceof ImgdError && err.code === 'rate_limited') {
      const retry = err.extra.retry_after;
      if (typeof retry === 'number' && !reply.hasHeader('retry-after')) reply.header('retry-after', String(retry));
      return sendStyled(reply, style, 429, WORDS[style].tooMany);
    }
    if (err.validation && style === 'fastapi') {
      return sendValidation(
        reply,
        err.validation.map((v) => {
          const where = err.validationContext === 'querystring' ? 'query' : (err.validationContext ?? 'body');
          const name = (v.params as { missingProperty?: string } | undefined)?.missingProperty ?? v.instancePath.split('/').filter(Boolean).join('.');
          return v.keyword === 'required' ? missing(where as 'body', name) : { type: 'value_error', loc: [where, name], msg: v.message ?? 'Invalid value', input: null };
        }),
      );
    }
    // No space left, or the database, the store or Redis away: temporary, as on the native API (problem.ts), never a 500.
    if (isDiskFull(err)) {
      request.log.warn({ err: err.message }, 'request failed: no space left to write');
      reply.header('retry-after', String(DISK_RETRY_AFTER_SECONDS));
      return sendStyled(reply, style, 507, WORDS[style].full);
    }
    if (isOutage(err)) {
      request.log.warn({ err: err.message }, 'request failed: a dependency is unavailable');
      reply.header('retry-after', String(RETRY_AFTER_SECONDS));
      return sendStyled(reply, style, 503, WORDS[style].away);
    }
    const status = err instanceof ImgdError ? statusOf(err.code) : (err.statusCode ?? 500);
    if (status >= 400 && status < 500) {
      request.log.info({ code: err.code }, err.message);
      return sendStyled(reply, style, status, err.message);
    }
    request.log.error({ err }, 'request failed');
    return sendStyled(reply, style, 500, WORDS[style].fault);
  };
}
