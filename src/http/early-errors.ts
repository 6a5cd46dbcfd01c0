// Errors made before a route runs (Node's HTTP parser, URLs the router refuses, a server draining): problem+json, or a profile's seed style.
import { randomUUID } from 'node:crypto';
import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ImgdError, type ErrorCode } from '../core/errors.js';
import { statusOf } from './error-codes.js';
import { problemOf, toImgdError } from './problem.js';
import { SECURITY_HEADERS } from './security-headers.js';

/** What the HTTP parser gave up on, by Node's error code; anything else is bad framing (400). */
const PARSER_ERRORS: Readonly<Record<string, readonly [ErrorCode, string]>> = {
  ERR_HTTP_REQUEST_TIMEOUT: ['request_timeout', 'The request did not arrive in time.'],
  HPE_HEADER_OVERFLOW: ['headers_too_large', 'The request line and headers are larger than this server reads (16 KiB).'],
};

/**
 * How a listener writes an error made before any route ran: its Content-Type and body. imgd's listener writes
 * problem+json; a COMPAT profile's own listener writes its seed's style (compat/answers.ts).
 */
export type EarlyErrorWriter = (error: ImgdError, instance: string, requestId: string) => { readonly type: string; readonly body: string };

export const writeProblem: EarlyErrorWriter = (error, instance, requestId) => ({
  type: 'application/problem+json; charset=utf-8',
  body: JSON.stringify(problemOf(error.code, statusOf(error.code), error.message, instance, requestId, error.extra)),
});

/**
 * Fastify's clientErrorHandler: the parser could not read a request, so there is no request
 * object; the answer is written on the socket as it is, and the connection closed.
 */
export function clientErrorAnswer(write: EarlyErrorWriter): (this: FastifyInstance, err: NodeJS.ErrnoException, socket: Socket) => void {
  return function answerClientError(err, socket) {
    // A reset connection has no one left to answer.
    if (err.code === 'ECONNRESET' || socket.destroyed) return;
    const [code, detail] = PARSER_ERRORS[err.code ?? ''] ?? (['bad_request', 'The request is not valid HTTP/1.1.'] as const);
    const status = statusOf(code);
    const id = randomUUID();
    this.log.debug({ parser: err.code, code, request_id: id }, 'client error');
    if (socket.writable) {
      const { type, body } = write(new ImgdError(code, detail), '', id);
      const headers: Record<string, string> = {
        'content-type': type,
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
  };
}

/** Fastify's frameworkErrors: URLs refused before routing (a broken %-escape, a path segment over maxParamLength). */
export function frameworkErrorAnswer(write: EarlyErrorWriter): (err: FastifyError, request: FastifyRequest, reply: FastifyReply) => void {
  return (err, request, reply) => {
    const problem =
      err.code === 'FST_ERR_MAX_PARAM_LENGTH'
        ? new ImgdError('uri_too_long', 'A segment of the path is longer than this server accepts.')
        : err.code === 'FST_ERR_BAD_URL'
          ? new ImgdError('bad_request', 'The URL is not valid (a broken %-escape).')
          : toImgdError(err);
    request.log.info({ code: problem.code }, problem.message);
    // These replies may skip the app's onSend hooks: the headers every answer carries are set here too.
    reply.headers({ ...SECURITY_HEADERS, 'x-request-id': request.id });
    const { type, body } = write(problem, request.url.split('?')[0] ?? request.url, request.id);
    // As bytes, so that Fastify adds nothing to the Content-Type.
    void reply.code(statusOf(problem.code)).header('content-type', type).send(Buffer.from(body));
  };
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
