// Errors made before a route runs (Node's HTTP parser, URLs the router refuses, a server draining) in the one problem+json shape.
import { randomUUID } from 'node:crypto';
import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ImgdError, statusOf, type ErrorCode } from '../core/errors.js';
import { problemOf, sendProblem, toImgdError } from './problem.js';
import { SECURITY_HEADERS } from './security-headers.js';

/** What the HTTP parser gave up on, by Node's error code; anything else is bad framing (400). */
const PARSER_ERRORS: Readonly<Record<string, readonly [ErrorCode, string]>> = {
  ERR_HTTP_REQUEST_TIMEOUT: ['request_timeout', 'The request did not arrive in time.'],
  HPE_HEADER_OVERFLOW: ['headers_too_large', 'The request line and headers are larger than this server reads (16 KiB).'],
};

/**
 * Fastify's clientErrorHandler: the parser could not read a request, so there is no request
 * object; the answer is written on the socket as it is, and the connection closed.
 */
export function answerClientError(this: FastifyInstance, err: NodeJS.ErrnoException, socket: Socket): void {
  // A reset connection has no one left to answer.
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  const [code, detail] = PARSER_ERRORS[err.code ?? ''] ?? (['bad_request', 'The request is not valid HTTP/1.1.'] as const);
  const status = statusOf(code);
  const id = randomUUID();
  this.log.debug({ parser: err.code, code, request_id: id }, 'client error');
  if (socket.writable) {
    const body = JSON.stringify(problemOf(code, status, detail, '', id));
    const headers: Record<string, string> = {
      'content-type': 'application/problem+json; charset=utf-8',
      'content-length': String(Buffer.byteLength(body)),
      connection: 'close',
      'x-request-id': id,
      ...SECURITY_HEADERS,
      'cross-origin-resource-policy': 'same-origin',
    };
    const head = Object.entries(headers).map(([name, value]) => `${name}: ${value}\r\n`).join('');
    socket.write(`HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\n${head}\r\n${body}`);
  }
  socket.destroy(err);
}

/** Fastify's frameworkErrors: URLs refused before routing (a broken %-escape, a path segment over maxParamLength). */
export function answerFrameworkError(err: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  const problem =
    err.code === 'FST_ERR_MAX_PARAM_LENGTH'
      ? new ImgdError('uri_too_long', 'A segment of the path is longer than this server accepts.')
      : err.code === 'FST_ERR_BAD_URL'
        ? new ImgdError('bad_request', 'The URL is not valid (a broken %-escape).')
        : toImgdError(err);
  request.log.info({ code: problem.code }, problem.message);
  // These replies may skip the app's onSend hooks: the headers every answer carries are set here too.
  reply.headers({ ...SECURITY_HEADERS, 'x-request-id': request.id });
  void sendProblem(request, reply, problem);
}

/** From the moment the server starts closing, requests still arriving (on kept-alive connections) get 503 with Retry-After. */
export function answerUnavailableWhileClosing(app: FastifyInstance): void {
  let closing = false;
  app.addHook('preClose', async () => {
    closing = true;
  });
  app.addHook('onRequest', async (_request, reply) => {
    if (!closing) return;
    reply.header('connection', 'close');
    throw new ImgdError('unavailable', 'This server is shutting down; try again shortly.');
  });
}
